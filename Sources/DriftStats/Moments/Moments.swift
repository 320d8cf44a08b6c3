/// Count, missing, mean, population variance, minimum and maximum of a stream of numbers.
///
/// `Moments` is a mergeable summary: ``add(_:)`` takes whole batches and runs a
/// two-pass SIMD kernel over cache-sized chunks, and ``merge(_:)`` combines two
/// summaries with the parallel update of Chan, Golub and LeVeque, so any split of
/// the data gives the same result up to rounding (the counts are identical).
///
/// Conventions, so every input has a defined result:
/// - NaN is *missing*: counted in ``missing``, not in ``count``.
/// - ±∞ are values (they count in ``count`` and in ``min``/``max``), but ``mean``
///   and ``variance`` are taken over the *finite* values only, which are
///   ``finiteCount`` of them; an infinity would otherwise turn both into ∞ or NaN.
/// - Magnitudes up to `Double.greatestFiniteMagnitude` and subnormals keep full
///   relative accuracy: every chunk is scaled by a power of two (exact) before its
///   squares are summed, and the sum of squared deviations is stored scaled, so
///   neither `1e300²` overflows nor `1e-310²` underflows.
/// - With no finite value, ``mean``, ``variance`` and ``standardDeviation`` are `nil`.
public struct Moments: Sendable, Hashable {
    var state = MomentsState()
    /// Values of the current, incomplete chunk. Chunks are cut at fixed positions
    /// of the value stream, not at batch boundaries, so the same values in the same
    /// order give bit-identical results whatever the batch sizes.
    var pending: [Double] = []

    /// Values per chunk of the two-pass kernel: 16 KiB, so the second pass reads L1.
    public static let chunkSize = 2048

    public init() {}

    /// Builds the summary of `values` in one call.
    public init(_ values: some Sequence<Double>) {
        let buffer = Array(values)
        buffer.withUnsafeBufferPointer { add($0) }
    }

    /// The state with the pending chunk folded in.
    var settled: MomentsState {
        guard !pending.isEmpty else { return state }
        var s = state
        pending.withUnsafeBufferPointer { s.merge(MomentsState.summarizeChunk($0.baseAddress!, $0.count)) }
        return s
    }

    /// Adds a batch of values.
    ///
    /// Runs over chunks of ``chunkSize`` values: a first SIMD pass takes the sum,
    /// minimum and maximum (and notices NaN or ±∞), a second pass over the same chunk,
    /// still in L1 cache, sums the squared deviations from the chunk mean; the chunk
    /// is then merged into the running state. Allocates nothing but the one pending
    /// chunk buffer of a summary.
    public mutating func add(_ values: UnsafeBufferPointer<Double>) {
        guard let base = values.baseAddress else { return }
        let chunk = Moments.chunkSize
        var i = 0
        if !pending.isEmpty {
            let take = Swift.min(chunk - pending.count, values.count)
            pending.append(contentsOf: UnsafeBufferPointer(start: base, count: take))
            i = take
            if pending.count == chunk {
                pending.withUnsafeBufferPointer { state.merge(MomentsState.summarizeChunk($0.baseAddress!, chunk)) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        while values.count - i >= chunk {
            state.merge(MomentsState.summarizeChunk(base + i, chunk))
            i += chunk
        }
        if i < values.count {
            if pending.capacity < chunk { pending.reserveCapacity(chunk) }
            pending.append(contentsOf: UnsafeBufferPointer(start: base + i, count: values.count - i))
        }
    }

    /// Adds a batch of values.
    public mutating func add(_ values: [Double]) {
        values.withUnsafeBufferPointer { add($0) }
    }

    /// Counts `n` missing values that arrived without a number (absent fields).
    public mutating func addMissing(_ n: Int) {
        state.addMissing(n)
    }

    /// Merges another summary into this one (Chan et al.).
    public mutating func merge(_ other: Moments) {
        state = settled
        pending.removeAll()
        state.merge(other.settled)
    }

    /// Folds the pending partial chunk into the state, so reading properties costs
    /// nothing. Adding values afterwards starts a new chunk, so call it only when
    /// the summary is complete (a closed window, a frozen reference).
    public mutating func settle() {
        guard !pending.isEmpty else { return }
        state = settled
        pending = []
    }

    /// Values that are not NaN (finite and infinite).
    public var count: Int { settled.count }
    /// NaN values, counted as missing.
    public var missing: Int { state.missing + pending.reduce(0) { $0 + ($1.isNaN ? 1 : 0) } }
    /// Finite values; the mean and variance are taken over these.
    public var finiteCount: Int { settled.finiteCount }
    /// Values equal to `+∞`.
    public var positiveInfinities: Int { settled.positiveInfinities }
    /// Values equal to `-∞`.
    public var negativeInfinities: Int { settled.negativeInfinities }
    /// Smallest finite value (`+∞` while there is none).
    public var finiteMin: Double { settled.finiteMin }
    /// Largest finite value (`-∞` while there is none).
    public var finiteMax: Double { settled.finiteMax }
    /// Mean of the finite values, or `nil` when there is none.
    public var mean: Double? { settled.mean }
    /// Population variance (ddof = 0) of the finite values, or `nil` when there is none.
    ///
    /// May be `+∞` when the variance itself exceeds the largest double (a spread of
    /// about 1e154 or more); ``standardDeviation`` stays finite in that case.
    public var variance: Double? { settled.variance }
    /// Population standard deviation (ddof = 0) of the finite values, or `nil` when there is none.
    public var standardDeviation: Double? { settled.standardDeviation }
    /// Smallest value including `-∞`, or `nil` when there is no value.
    public var min: Double? { settled.min }
    /// Largest value including `+∞`, or `nil` when there is no value.
    public var max: Double? { settled.max }
}

/// The arithmetic of ``Moments`` over whole chunks (see there).
struct MomentsState: Sendable, Hashable {
    /// Values that are not NaN (finite and infinite).
    public var count: Int { finiteCount + positiveInfinities + negativeInfinities }
    /// NaN values, counted as missing.
    public internal(set) var missing: Int = 0
    /// Finite values; the mean and variance are taken over these.
    public internal(set) var finiteCount: Int = 0
    /// Values equal to `+∞`.
    public internal(set) var positiveInfinities: Int = 0
    /// Values equal to `-∞`.
    public internal(set) var negativeInfinities: Int = 0
    /// Smallest finite value (`+∞` while there is none).
    public internal(set) var finiteMin: Double = .infinity
    /// Largest finite value (`-∞` while there is none).
    public internal(set) var finiteMax: Double = -.infinity
    internal var _mean: Double = 0
    /// Sum of squared deviations from the mean, divided by `4^scaleExponent`.
    internal var _scaledM2: Double = 0
    /// The power of two that ``_scaledM2`` is expressed in (see ``Moments``).
    internal var _scaleExponent: Int = 0

    public init() {}

    /// Mean of the finite values, or `nil` when there is none.
    public var mean: Double? { finiteCount > 0 ? _mean : nil }

    /// Population variance (ddof = 0) of the finite values, or `nil` when there is none.
    ///
    /// May be `+∞` when the variance itself exceeds the largest double (a spread of
    /// about 1e154 or more); ``standardDeviation`` stays finite in that case.
    public var variance: Double? {
        guard finiteCount > 0 else { return nil }
        let s = MomentsState.powerOfTwo(_scaleExponent)
        return (_scaledM2 / Double(finiteCount)) * s * s
    }

    /// Population standard deviation (ddof = 0) of the finite values, or `nil` when there is none.
    public var standardDeviation: Double? {
        guard finiteCount > 0 else { return nil }
        return (_scaledM2 / Double(finiteCount)).squareRoot() * MomentsState.powerOfTwo(_scaleExponent)
    }

    /// Smallest value including `-∞`, or `nil` when there is no value.
    public var min: Double? {
        if negativeInfinities > 0 { return -.infinity }
        if finiteCount > 0 { return finiteMin }
        return positiveInfinities > 0 ? .infinity : nil
    }

    /// Largest value including `+∞`, or `nil` when there is no value.
    public var max: Double? {
        if positiveInfinities > 0 { return .infinity }
        if finiteCount > 0 { return finiteMax }
        return negativeInfinities > 0 ? -.infinity : nil
    }

    /// Counts `n` missing values that arrived without a number (absent fields).
    public mutating func addMissing(_ n: Int) {
        missing += n
    }

    /// Merges another summary into this one (Chan et al.).
    public mutating func merge(_ other: MomentsState) {
        missing += other.missing
        positiveInfinities += other.positiveInfinities
        negativeInfinities += other.negativeInfinities
        guard other.finiteCount > 0 else { return }
        guard finiteCount > 0 else {
            finiteCount = other.finiteCount
            finiteMin = other.finiteMin
            finiteMax = other.finiteMax
            _mean = other._mean
            _scaledM2 = other._scaledM2
            _scaleExponent = other._scaleExponent
            return
        }
        let newMin = Swift.min(finiteMin, other.finiteMin)
        let newMax = Swift.max(finiteMax, other.finiteMax)
        let k = MomentsState.scaleExponent(forMagnitude: Swift.max(-newMin, newMax))
        let s = MomentsState.powerOfTwo(-k)
        let na = Double(finiteCount), nb = Double(other.finiteCount), n = na + nb
        // Scaled means and deltas stay far from overflow (|x|·2^-k ≤ 2^480).
        let ma = _mean * s, mb = other._mean * s
        let delta = mb - ma
        let m2a = MomentsState.rescale(_scaledM2, from: _scaleExponent, to: k)
        let m2b = MomentsState.rescale(other._scaledM2, from: other._scaleExponent, to: k)
        _scaledM2 = m2a + m2b + delta * delta * (na * nb / n)
        // The weighted form of the new mean is the most accurate when counts differ a lot.
        _mean = (ma + delta * (nb / n)) / s
        _scaleExponent = k
        finiteCount += other.finiteCount
        finiteMin = newMin
        finiteMax = newMax
    }

}

// MARK: - Kernel

extension MomentsState {
    /// The power-of-two exponent `k` that brings a chunk with largest magnitude `m`
    /// into a range where squares neither overflow nor underflow: values are
    /// multiplied by `2^-k` before squaring. `k` is 0 for ordinary magnitudes, so
    /// ordinary data takes no rounding from the scaling at all (and none otherwise:
    /// scaling by a power of two is exact away from the subnormal range).
    static func scaleExponent(forMagnitude m: Double) -> Int {
        if m > 0x1p480 { return Int(m.exponent) - 480 + 1 }
        if m != 0 && m < 0x1p-400 { return -600 }
        return 0
    }

    /// `2^k`; 0 below the subnormal range and `+∞` above the largest double.
    static func powerOfTwo(_ k: Int) -> Double {
        if k > 1023 { return .infinity }
        if k < -1074 { return 0 }
        return Double(sign: .plus, exponent: k, significand: 1)
    }

    /// Re-expresses a scaled sum of squares in another power of two.
    static func rescale(_ scaledM2: Double, from k0: Int, to k1: Int) -> Double {
        // A zero sum stays zero even when the factor is huge (0 · ∞ would be NaN).
        scaledM2 == 0 ? 0 : scaledM2 * powerOfTwo(2 * (k0 - k1))
    }

    static func summarizeChunk(_ p: UnsafePointer<Double>, _ n: Int) -> MomentsState {
        // Pass 1: sum, min, max and a finiteness probe. x - x is 0 for finite x and
        // NaN for NaN and ±∞, so one extra add tells whether the chunk is all finite.
        var s0 = SIMD8<Double>(), s1 = SIMD8<Double>()
        var probe = SIMD8<Double>()
        var lo = SIMD8<Double>(repeating: .infinity), hi = SIMD8<Double>(repeating: -.infinity)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 16 <= n {
            let a = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD8<Double>.self)
            let b = raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 8, as: SIMD8<Double>.self)
            s0 += a
            s1 += b
            probe += (a - a) + (b - b)
            // Compare-and-blend, not pointwiseMin/Max: those handle NaN lane by lane and
            // do not vectorize. NaN ordering does not matter here: a chunk with NaN
            // takes the careful path.
            lo = lo.replacing(with: a, where: a .< lo)
            hi = hi.replacing(with: a, where: a .> hi)
            lo = lo.replacing(with: b, where: b .< lo)
            hi = hi.replacing(with: b, where: b .> hi)
            i &+= 16
        }
        var sum = (s0 + s1).sum()
        var mn = lo.min(), mx = hi.max()
        var tailProbe = 0.0
        while i < n {
            let x = p[i]
            sum += x
            tailProbe += x - x
            if x < mn { mn = x }
            if x > mx { mx = x }
            i &+= 1
        }
        let probeSum = probe.sum() + tailProbe
        guard probeSum == 0, sum.isFinite, scaleExponent(forMagnitude: Swift.max(-mn, mx)) == 0 else {
            return summarizeChunkCarefully(p, n)
        }
        // Pass 2: squared deviations from the chunk mean (all values finite, no scaling).
        let mean = sum / Double(n)
        let m = SIMD8<Double>(repeating: mean)
        var q0 = SIMD8<Double>(), q1 = SIMD8<Double>()
        i = 0
        while i + 16 <= n {
            let a = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD8<Double>.self) - m
            let b = raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 8, as: SIMD8<Double>.self) - m
            q0 += a * a
            q1 += b * b
            i &+= 16
        }
        var m2 = (q0 + q1).sum()
        while i < n {
            let d = p[i] - mean
            m2 += d * d
            i &+= 1
        }
        var result = MomentsState()
        result.finiteCount = n
        result.finiteMin = mn
        result.finiteMax = mx
        result._mean = mean
        result._scaledM2 = m2
        result._scaleExponent = 0
        return result
    }

    /// The general path for chunks with NaN, ±∞ or extreme magnitudes: scalar, exact
    /// in its bookkeeping, and scaled by a power of two. Rare in practice.
    static func summarizeChunkCarefully(_ p: UnsafePointer<Double>, _ n: Int) -> MomentsState {
        var result = MomentsState()
        var mn = Double.infinity, mx = -Double.infinity
        var finite = 0
        for i in 0..<n {
            let x = p[i]
            if x.isNaN {
                result.missing += 1
            } else if x == .infinity {
                result.positiveInfinities += 1
            } else if x == -.infinity {
                result.negativeInfinities += 1
            } else {
                finite += 1
                if x < mn { mn = x }
                if x > mx { mx = x }
            }
        }
        guard finite > 0 else { return result }
        let k = scaleExponent(forMagnitude: Swift.max(-mn, mx))
        let s = powerOfTwo(-k)
        var sum = 0.0
        for i in 0..<n where p[i].isFinite { sum += p[i] * s }
        let scaledMean = sum / Double(finite)
        var m2 = 0.0
        for i in 0..<n where p[i].isFinite {
            let d = p[i] * s - scaledMean
            m2 += d * d
        }
        result.finiteCount = finite
        result.finiteMin = mn
        result.finiteMax = mx
        result._mean = scaledMean / s
        result._scaledM2 = m2
        result._scaleExponent = k
        return result
    }
}
