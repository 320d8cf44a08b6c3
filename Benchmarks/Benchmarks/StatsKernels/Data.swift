#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64: a small, fast, deterministic generator, so every run measures the same data.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1], never 0 (safe for `log`).
    mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 1) * 0x1p-53
    }

    /// Standard normal (Box–Muller; one value per call keeps the code short).
    mutating func nextNormal() -> Double {
        let u1 = nextOpenUnit(), u2 = nextOpenUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// The value distributions the kernels are measured on.
enum Distribution: String, CaseIterable {
    /// Standard normal.
    case normal
    /// exp(N(0, 1)): long right tail.
    case lognormal
    /// Standard Cauchy: heavy tails on both sides (no mean, values up to ~1e5 and beyond).
    case cauchy
    /// 90 % of values equal to 0.25, the rest standard normal: the store-to-load
    /// worst case of a histogram (one counter takes most increments).
    case skewed

    func sample(count: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in next(&rng) }
    }

    func next(_ rng: inout SplitMix64) -> Double {
        switch self {
        case .normal:
            return rng.nextNormal()
        case .lognormal:
            return exp(rng.nextNormal())
        case .cauchy:
            return tan(Double.pi * (rng.nextOpenUnit() - 0.5))
        case .skewed:
            return rng.next() % 10 == 0 ? rng.nextNormal() : 0.25
        }
    }
}

/// Values per batch handed to a kernel: 64 Ki doubles (512 KiB, in L2).
let batchSize = 65_536
/// Values per measured iteration: with `scalingFactor: .mega` the throughput
/// column then reads directly as M values/s.
let valuesPerIteration = 1_000_000
/// Batches per measured iteration: 15 full batches and one of 16 960 values.
let batchesPerIteration = (valuesPerIteration + batchSize - 1) / batchSize

/// Feeds exactly `total` values to `body` in batches of `data.count` (the last one
/// partial), always from the start of `data`.
@inline(__always)
func feed<T>(_ data: UnsafeBufferPointer<T>, total: Int, _ body: (UnsafeBufferPointer<T>) -> Void) {
    var remaining = total
    while remaining > 0 {
        let n = min(remaining, data.count)
        body(UnsafeBufferPointer(rebasing: data[0..<n]))
        remaining -= n
    }
}

/// Reference values of a distribution for computing edges: 200 000 values, sorted.
func sortedReference(_ distribution: Distribution, count: Int = 200_000, seed: UInt64) -> [Double] {
    var values = distribution.sample(count: count, seed: seed)
    values.sort()
    return values
}
