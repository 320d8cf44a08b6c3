#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Population stability index and Jensen–Shannon distance over binned counts.
public enum BinnedDivergence {
    /// Proportions below this are raised to it in PSI, so empty bins stay finite.
    public static let psiFloor = 1e-4

    /// PSI = Σ (a_i − e_i)·ln(a_i / e_i) with a = actual (window) and e = expected
    /// (reference) proportions, both floored at ``psiFloor``.
    ///
    /// - Returns: `nil` when either side has no value.
    public static func psi(expected: [UInt64], actual: [UInt64]) -> Double? {
        precondition(expected.count == actual.count, "PSI over different bins")
        let ne = expected.reduce(0, &+), na = actual.reduce(0, &+)
        guard ne > 0, na > 0 else { return nil }
        var terms = [Double](repeating: 0, count: expected.count)
        for i in expected.indices {
            let e = max(Double(expected[i]) / Double(ne), psiFloor)
            let a = max(Double(actual[i]) / Double(na), psiFloor)
            terms[i] = (a - e) * log(a / e)
        }
        return numpySum(terms)
    }

    /// Jensen–Shannon distance with base-2 logarithms, as
    /// `scipy.spatial.distance.jensenshannon(p, q, base=2)` computes it (same
    /// operations in the same order, no floor): 0 for identical distributions,
    /// 1 for disjoint ones.
    ///
    /// - Returns: `nil` when either side has no value.
    public static func jensenShannonDistance(_ pCounts: [UInt64], _ qCounts: [UInt64]) -> Double? {
        precondition(pCounts.count == qCounts.count, "JS distance over different bins")
        let np = pCounts.reduce(0, &+), nq = qCounts.reduce(0, &+)
        guard np > 0, nq > 0 else { return nil }
        var left = [Double](repeating: 0, count: pCounts.count)
        var right = left
        for i in pCounts.indices {
            let p = Double(pCounts[i]) / Double(np)
            let q = Double(qCounts[i]) / Double(nq)
            let m = (p + q) / 2.0
            left[i] = relativeEntropy(p, m)
            right[i] = relativeEntropy(q, m)
        }
        let js = (numpySum(left) + numpySum(right)) / log(2.0)
        return max(0, js / 2.0).squareRoot()
    }

    /// `scipy.special.rel_entr` for the non-negative arguments used here.
    static func relativeEntropy(_ x: Double, _ y: Double) -> Double {
        if x > 0 && y > 0 { return x * log(x / y) }
        if x == 0 && y >= 0 { return 0 }
        return .infinity
    }

    /// The sum numpy's `add.reduce` computes for a contiguous array: the first
    /// element plus the pairwise sum of the rest (eight accumulators per block of
    /// up to 128). Matching its order keeps results within an ulp or two of scipy's
    /// even when terms cancel.
    static func numpySum(_ a: [Double]) -> Double {
        guard let first = a.first else { return 0 }
        return a.withUnsafeBufferPointer { p in
            first + pairwiseSum(p.baseAddress! + 1, p.count - 1)
        }
    }

    private static func pairwiseSum(_ a: UnsafePointer<Double>, _ n: Int) -> Double {
        if n < 8 {
            var res = -0.0
            for i in 0..<n { res += a[i] }
            return res
        } else if n <= 128 {
            var r = (0..<8).map { a[$0] }
            var i = 8
            while i < n - (n % 8) {
                for j in 0..<8 { r[j] += a[i + j] }
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                res += a[i]
                i += 1
            }
            return res
        } else {
            var n2 = n / 2
            n2 -= n2 % 8
            return pairwiseSum(a, n2) + pairwiseSum(a + n2, n - n2)
        }
    }
}

/// The Kolmogorov–Smirnov statistic bounded from two ``FineHistogram``s.
public struct BinnedKolmogorovSmirnov: Sendable, Hashable {
    /// D_B: the largest |F_ref − F_win| seen at the fine edges, on both sides of each
    /// edge (at the edge and just below it, which the right-edge counts give), and at
    /// ±∞. Every candidate is a value the exact statistic takes, so D_B ≤ D.
    public let statistic: Double
    /// max over bins of min(f°, g°), the reference and window masses strictly inside
    /// the bin: the exact statistic lies in [D_B, D_B + errorBound]. It is 0, and
    /// D_B exact, when no bin has mass strictly inside on both sides, as for discrete
    /// features whose values all sit on edges.
    public let errorBound: Double

    /// Computes D_B and its bound, or `nil` when either histogram has no value.
    public init?(reference f: FineHistogram, window g: FineHistogram) {
        precondition(f.edges == g.edges, "KS over different bins")
        let n = Double(f.total), m = Double(g.total)
        guard n > 0, m > 0 else { return nil }
        let k = f.edges.values.count
        var cumF = f.negativeInfinities, cumG = g.negativeInfinities
        var d = abs(Double(cumF) / n - Double(cumG) / m)
        var bound = 0.0
        for j in 0...k {
            var insideF = f.counts[j] &- f.rightEdgeCounts[j]
            var insideG = g.counts[j] &- g.rightEdgeCounts[j]
            if j == 0 {
                insideF &-= f.negativeInfinities
                insideG &-= g.negativeInfinities
            }
            if j == k {
                insideF &-= f.positiveInfinities
                insideG &-= g.positiveInfinities
            }
            bound = max(bound, min(Double(insideF) / n, Double(insideG) / m))
            // Just below the right edge (or below +∞ for the last bin).
            let belowF = cumF &+ insideF
            let belowG = cumG &+ insideG
            d = max(d, abs(Double(belowF) / n - Double(belowG) / m))
            cumF &+= f.counts[j] &- (j == 0 ? f.negativeInfinities : 0)
            cumG &+= g.counts[j] &- (j == 0 ? g.negativeInfinities : 0)
            if j < k { d = max(d, abs(Double(cumF) / n - Double(cumG) / m)) }
        }
        statistic = d
        errorBound = bound
    }
}

/// The Wasserstein-1 distance bounded from two ``FineHistogram``s and the extremes.
public struct BinnedWasserstein: Sendable, Hashable {
    /// Σ over bins of |∫ (F_ref − F_win) dx|, exact per bin from the offset sums: a
    /// lower bound of W1, equal to it wherever F_ref − F_win keeps its sign inside
    /// each bin.
    public let distance: Double
    /// W1 lies in [distance, distance + errorBound]: per bin, twice the bin width times
    /// the smaller of the largest positive and negative excursion of F_ref − F_win.
    public let errorBound: Double

    /// Computes W1 over the finite values, or `nil` when either side has none.
    ///
    /// - Parameters:
    ///   - f: Reference histogram.
    ///   - g: Window histogram.
    ///   - finiteMin: Smallest finite value of both sides.
    ///   - finiteMax: Largest finite value of both sides.
    public init?(reference f: FineHistogram, window g: FineHistogram, finiteMin: Double, finiteMax: Double) {
        precondition(f.edges == g.edges, "Wasserstein over different bins")
        let nF = f.total &- f.positiveInfinities &- f.negativeInfinities
        let nG = g.total &- g.positiveInfinities &- g.negativeInfinities
        guard nF > 0, nG > 0 else { return nil }
        let n = Double(nF), m = Double(nG)
        let e = f.edges.values
        let k = e.count
        var lower = 0.0, excess = 0.0
        var cumF: UInt64 = 0, cumG: UInt64 = 0
        for j in 0...k {
            let cF = f.counts[j] &- (j == 0 ? f.negativeInfinities : 0) &- (j == k ? f.positiveInfinities : 0)
            let cG = g.counts[j] &- (j == 0 ? g.negativeInfinities : 0) &- (j == k ? g.positiveInfinities : 0)
            let dLeft = Double(cumF) / n - Double(cumG) / m
            let interiorF = Double(cF &- (j < k ? f.rightEdgeCounts[j] : 0)) / n
            let interiorG = Double(cG &- (j < k ? g.rightEdgeCounts[j] : 0)) / m
            cumF &+= cF
            cumG &+= cG
            let offsetTerm = f.offsetSums[j] / n - g.offsetSums[j] / m
            let integral: Double
            let width: Double
            if k == 0 {
                integral = -offsetTerm
                width = finiteMax - finiteMin
            } else if j == 0 {
                integral = -offsetTerm
                width = max(0, e[0] - finiteMin)
            } else if j == k {
                integral = -offsetTerm
                width = max(0, finiteMax - e[k - 1])
            } else {
                let w = e[j] - e[j - 1]
                integral = w * (Double(cumF) / n - Double(cumG) / m) - offsetTerm
                width = w
            }
            lower += abs(integral)
            let positive = max(0, dLeft + interiorF)
            let negative = max(0, interiorG - dLeft)
            excess += 2 * width * min(positive, negative)
        }
        distance = lower
        errorBound = excess
    }
}
