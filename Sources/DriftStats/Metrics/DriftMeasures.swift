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
    ///
    /// Why: inside bin j, with d₀ = (F−G) at its left edge and d₁ = (F−G) just below
    /// its right edge (d₁ = d₀ + f° − g°), monotonicity gives F(x) − G(x) ≤ d₀ + f° =
    /// max(d₀, d₁) + min(f°, g°), and symmetrically for G − F. Both d₀ and d₁ are
    /// candidates of D_B, which is why the values just below each edge are taken too:
    /// with the edges alone the bound would be max(f°, g°).
    public let errorBound: Double

    /// Computes D_B and its bound, or `nil` when either histogram has no value.
    public init?(reference f: FineHistogram, window g: FineHistogram) {
        precondition(f.edges == g.edges, "KS over different bins")
        let totalF = f.total, totalG = g.total
        guard totalF > 0, totalG > 0 else { return nil }
        // Reciprocals: multiplies instead of three divisions per bin; a candidate
        // then differs from count/n − count/m by an ulp at most.
        let rn = 1 / Double(totalF), rm = 1 / Double(totalG)
        let k = f.edges.values.count
        var d = 0.0, bound = 0.0
        f.counts.withUnsafeBufferPointer { fc in
            f.rightEdgeCounts.withUnsafeBufferPointer { fe in
                g.counts.withUnsafeBufferPointer { gc in
                    g.rightEdgeCounts.withUnsafeBufferPointer { ge in
                        // Cumulative counts, with ±∞ folded in so the loop has no special cases:
                        // -∞ is counted before bin 0, +∞ is not "inside" the last bin.
                        var cumF = Int64(f.negativeInfinities), cumG = Int64(g.negativeInfinities)
                        d = abs(Double(cumF) * rn - Double(cumG) * rm)
                        for j in 0...k {
                            var edgeF = Int64(fe[j]), edgeG = Int64(ge[j])
                            var countF = Int64(fc[j]), countG = Int64(gc[j])
                            if j == 0 {
                                countF &-= Int64(f.negativeInfinities)
                                countG &-= Int64(g.negativeInfinities)
                            }
                            if j == k {
                                edgeF = Int64(f.positiveInfinities)
                                edgeG = Int64(g.positiveInfinities)
                            }
                            let insideF = countF &- edgeF, insideG = countG &- edgeG
                            bound = Swift.max(bound, Swift.min(Double(insideF) * rn, Double(insideG) * rm))
                            // Just below the right edge (or below +∞ for the last bin).
                            d = Swift.max(d, abs(Double(cumF &+ insideF) * rn - Double(cumG &+ insideG) * rm))
                            cumF &+= countF
                            cumG &+= countG
                            if j < k { d = Swift.max(d, abs(Double(cumF) * rn - Double(cumG) * rm)) }
                        }
                    }
                }
            }
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
        let rn = 1 / Double(nF), rm = 1 / Double(nG)
        let k = f.edges.values.count
        var lower = 0.0, excess = 0.0
        f.edges.values.withUnsafeBufferPointer { e in
            f.counts.withUnsafeBufferPointer { fc in
                g.counts.withUnsafeBufferPointer { gc in
                    f.rightEdgeCounts.withUnsafeBufferPointer { fe in
                        g.rightEdgeCounts.withUnsafeBufferPointer { ge in
                            f.offsetSums.withUnsafeBufferPointer { fs in
                                g.offsetSums.withUnsafeBufferPointer { gs in
                                    // Bin j's contribution: |∫(F−G)| over it, and the bound on
                                    // what that misses when F−G changes sign inside the bin.
                                    @inline(__always)
                                    func add(integral: Double, width: Double, dLeft: Double, interiorF: Double, interiorG: Double) {
                                        lower += abs(integral)
                                        let positive = Swift.max(0, dLeft + interiorF)
                                        let negative = Swift.max(0, interiorG - dLeft)
                                        excess += 2 * width * Swift.min(positive, negative)
                                    }
                                    // Bin 0 (and the only bin when there are no edges): ±∞ removed.
                                    var cF0 = Int64(fc[0]) &- Int64(f.negativeInfinities)
                                    var cG0 = Int64(gc[0]) &- Int64(g.negativeInfinities)
                                    if k == 0 {
                                        cF0 &-= Int64(f.positiveInfinities)
                                        cG0 &-= Int64(g.positiveInfinities)
                                        add(integral: -(fs[0] * rn - gs[0] * rm), width: finiteMax - finiteMin, dLeft: 0,
                                            interiorF: Double(cF0) * rn, interiorG: Double(cG0) * rm)
                                        return
                                    }
                                    add(integral: -(fs[0] * rn - gs[0] * rm), width: Swift.max(0, e[0] - finiteMin), dLeft: 0,
                                        interiorF: Double(cF0 &- Int64(fe[0])) * rn, interiorG: Double(cG0 &- Int64(ge[0])) * rm)
                                    var cumF = cF0, cumG = cG0  // finite cumulative counts
                                    // Interior bins (e[j-1], e[j]]: no special case in this loop.
                                    for j in 1..<k {
                                        let cF = Int64(fc[j]), cG = Int64(gc[j])
                                        let dLeft = Double(cumF) * rn - Double(cumG) * rm
                                        cumF &+= cF
                                        cumG &+= cG
                                        let width = e[j] - e[j - 1]
                                        let integral = width * (Double(cumF) * rn - Double(cumG) * rm) - (fs[j] * rn - gs[j] * rm)
                                        add(integral: integral, width: width, dLeft: dLeft,
                                            interiorF: Double(cF &- Int64(fe[j])) * rn, interiorG: Double(cG &- Int64(ge[j])) * rm)
                                    }
                                    // The last bin (e[k-1], +∞): +∞ removed, no right edge.
                                    let cF = Int64(fc[k]) &- Int64(f.positiveInfinities)
                                    let cG = Int64(gc[k]) &- Int64(g.positiveInfinities)
                                    add(integral: -(fs[k] * rn - gs[k] * rm), width: Swift.max(0, finiteMax - e[k - 1]),
                                        dLeft: Double(cumF) * rn - Double(cumG) * rm, interiorF: Double(cF) * rn, interiorG: Double(cG) * rm)
                                }
                            }
                        }
                    }
                }
            }
        }
        distance = lower
        errorBound = excess
    }
}
