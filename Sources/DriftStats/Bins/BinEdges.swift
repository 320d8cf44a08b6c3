/// Interior edges of a histogram whose bins are right-closed, with open outer bins.
///
/// With edges `e[0] < e[1] < … < e[k-1]` there are `k + 1` bins:
/// bin 0 is `(-∞, e[0]]`, bin `i` is `(e[i-1], e[i]]`, and bin `k` is `(e[k-1], +∞)`.
/// ±∞ land in the outer bins; NaN belongs to no bin (it is *missing*).
/// The bin of `x` is the number of edges strictly below `x`.
public struct BinEdges: Sendable, Hashable {
    /// The interior edges, finite and strictly increasing.
    public let values: [Double]

    /// Number of bins, one more than the number of edges.
    public var binCount: Int { values.count + 1 }

    /// Creates edges from any list: non-finite values are dropped, the rest sorted
    /// and deduplicated.
    public init(_ edges: [Double]) {
        var finite = edges.filter { $0.isFinite }
        finite.sort()
        var unique: [Double] = []
        unique.reserveCapacity(finite.count)
        for e in finite where unique.last != e {
            unique.append(e == 0 ? 0 : e)  // -0.0 and 0.0 are one edge
        }
        values = unique
    }

    /// Reference-quantile edges, as `numpy.quantile(reference, [k/B for k in 1..<B],
    /// method="linear")` computes them, with non-finite results and duplicates removed.
    ///
    /// NaN in `reference` is missing and ignored; ±∞ take part in the ranking (and
    /// quantiles that land on or next to them are not finite, so they are dropped).
    /// An empty reference gives no edges (one bin); a constant one gives one edge.
    ///
    /// - Parameters:
    ///   - reference: The reference values, in any order.
    ///   - bins: The number `B` of quantile bins wanted, at least 1.
    public init(referenceQuantilesOf reference: [Double], bins: Int) {
        var sorted = reference.filter { !$0.isNaN }
        sorted.sort()
        self.init(referenceQuantilesOfSorted: sorted, bins: bins)
    }

    /// Like ``init(referenceQuantilesOf:bins:)`` for values already sorted ascending
    /// with no NaN.
    public init(referenceQuantilesOfSorted sorted: [Double], bins: Int) {
        let n = sorted.count
        guard n > 0, bins > 1 else {
            self.init([])
            return
        }
        var edges: [Double] = []
        edges.reserveCapacity(bins - 1)
        for k in 1..<bins {
            edges.append(BinEdges.linearQuantile(sorted, Double(k) / Double(bins)))
        }
        self.init(edges)
    }

    /// numpy's `linear` quantile (Hyndman & Fan type 7) of sorted values, with
    /// numpy's exact arithmetic: virtual index `(n-1)·q`, and the interpolation
    /// `a + (b-a)·t`, or `b - (b-a)·(1-t)` when `t ≥ 0.5`.
    static func linearQuantile(_ sorted: [Double], _ q: Double) -> Double {
        let n = sorted.count
        let virtualIndex = Double(n - 1) * q
        if virtualIndex >= Double(n - 1) { return sorted[n - 1] }
        if virtualIndex < 0 { return sorted[0] }
        let previous = virtualIndex.rounded(.down)
        let i = Int(previous)
        let t = virtualIndex - previous
        let a = sorted[i], b = sorted[i + 1]
        let difference = b - a
        if t >= 0.5 { return b - difference * (1 - t) }
        return a + difference * t
    }

    /// The bin of `x` (the number of edges strictly below it), or `nil` for NaN.
    ///
    /// A scalar binary search: the reference the batch kernels are tested against.
    public func bin(of x: Double) -> Int? {
        if x.isNaN { return nil }
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
