/// Counts of values per bin over fixed ``BinEdges``, plus a count of missing values.
///
/// Counts are integers, so ``merge(_:)`` is exact: any split of the data, merged in
/// any order, gives bit-identical counts. ``add(_:)`` picks its kernel by the number
/// of edges: a SIMD compare-and-accumulate kernel for a few edges (PSI bins), and a
/// lookup table on a uniform grid with an exact fix-up for many (see ``BinLocator``).
public struct BinnedCounts: Sendable {
    /// The edges the counts are kept over.
    public let edges: BinEdges
    /// One count per bin, `edges.binCount` of them.
    public private(set) var counts: [UInt64]
    /// NaN values (missing).
    public private(set) var missing: UInt64 = 0
    /// The lookup-table kernel's state, built once, when there are many edges.
    let locator: BinLocator?

    /// Edge counts up to which the SIMD comparison kernel is used.
    public static let maximumEdgesForComparisonKernel = 16

    public init(edges: BinEdges) {
        self.edges = edges
        self.counts = Array(repeating: 0, count: edges.binCount)
        self.locator = BinnedCounts.makeLocator(edges)
    }

    static func makeLocator(_ edges: BinEdges) -> BinLocator? {
        edges.values.count > maximumEdgesForComparisonKernel ? BinLocator(edges) : nil
    }

    /// Creates counts from parts (for decoding stored summaries).
    ///
    /// - Returns: `nil` when `counts` does not have one entry per bin.
    public init?(edges: BinEdges, counts: [UInt64], missing: UInt64) {
        guard counts.count == edges.binCount else { return nil }
        self.edges = edges
        self.counts = counts
        self.missing = missing
        self.locator = BinnedCounts.makeLocator(edges)
    }

    /// Values counted in bins (not missing).
    public var total: UInt64 { counts.reduce(0, &+) }

    /// Counts `n` missing values that arrived without a number (absent fields).
    public mutating func addMissing(_ n: Int) {
        missing &+= UInt64(n)
    }

    /// Adds a batch of values. Allocates nothing.
    public mutating func add(_ values: UnsafeBufferPointer<Double>) {
        guard values.count > 0 else { return }
        let nanCount: Int
        if let locator {
            nanCount = counts.withUnsafeMutableBufferPointer { c in
                locator.count(values, into: c)
            }
        } else {
            nanCount = edges.values.withUnsafeBufferPointer { e in
                counts.withUnsafeMutableBufferPointer { c in
                    BinnedCounts.comparisonKernel(values, edges: e, counts: c)
                }
            }
        }
        missing &+= UInt64(nanCount)
    }

    /// Adds a batch of values.
    public mutating func add(_ values: [Double]) {
        values.withUnsafeBufferPointer { add($0) }
    }

    /// Adds another summary over the same edges.
    ///
    /// - Precondition: `other.edges == edges`.
    public mutating func merge(_ other: BinnedCounts) {
        precondition(other.edges == edges, "merging counts over different bin edges")
        for i in counts.indices { counts[i] &+= other.counts[i] }
        missing &+= other.missing
    }

    /// Sums of these counts over coarser edges that are a subset of ``edges``, or
    /// `nil` when they are not a subset. Lets PSI bins come from the fine bins
    /// when the fine quantiles include the PSI quantiles (e.g. 1000 and 10 bins).
    public func coarsened(to coarse: BinEdges) -> BinnedCounts? {
        var result = BinnedCounts(edges: coarse)
        var j = 0  // next coarse edge
        for (i, c) in counts.enumerated() {
            result.counts[j] &+= c
            if i < edges.values.count, j < coarse.values.count, edges.values[i] == coarse.values[j] {
                j += 1
            }
        }
        guard j == coarse.values.count else { return nil }
        result.missing = missing
        return result
    }
}

extension BinnedCounts: Hashable {
    public static func == (a: BinnedCounts, b: BinnedCounts) -> Bool {
        a.edges == b.edges && a.counts == b.counts && a.missing == b.missing
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(edges)
        hasher.combine(counts)
        hasher.combine(missing)
    }
}

// MARK: - Comparison kernel

extension BinnedCounts {
    /// Counts values with SIMD comparisons: the bin of each lane is the number of
    /// edges it exceeds, summed from the comparison masks (a true lane is -1), and
    /// bins are then tallied into four interleaved sub-histograms so a run of equal
    /// bins (skewed data) does not serialize on one counter.
    ///
    /// - Returns: The number of NaN values, which were not counted in any bin.
    static func comparisonKernel(
        _ values: UnsafeBufferPointer<Double>,
        edges: UnsafeBufferPointer<Double>,
        counts: UnsafeMutableBufferPointer<UInt64>
    ) -> Int {
        let n = values.count
        let k = edges.count
        let bins = k + 1
        // Four sub-histograms on the stack-sized scratch; 17 bins × 4 at most.
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 4 * bins) { sub in
            sub.initialize(repeating: 0)
            var nan = SIMD8<Int64>()
            let raw = UnsafeRawPointer(values.baseAddress!)
            var i = 0
            while i + 8 <= n {
                let x = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD8<Double>.self)
                var index = SIMD8<Int64>()
                for j in 0..<k {
                    let above = x .> SIMD8<Double>(repeating: edges[j])
                    index &-= unsafeBitCast(above, to: SIMD8<Int64>.self)
                }
                // NaN compares false with every edge, so it lands in bin 0: count it
                // to take it back out.
                nan &-= unsafeBitCast(x .!= x, to: SIMD8<Int64>.self)
                for lane in 0..<8 {
                    sub[(lane & 3) &* bins &+ Int(truncatingIfNeeded: index[lane])] &+= 1
                }
                i &+= 8
            }
            while i < n {
                let x = values[i]
                var index = 0
                for j in 0..<k where x > edges[j] { index &+= 1 }
                if x.isNaN { nan[0] &+= 1 }
                sub[index] &+= 1
                i &+= 1
            }
            let nanCount = Int(nan.wrappedSum())
            for b in 0..<bins {
                counts[b] &+= sub[b] &+ sub[bins &+ b] &+ sub[2 &* bins &+ b] &+ sub[3 &* bins &+ b]
            }
            counts[0] &-= UInt64(nanCount)
            return nanCount
        }
    }
}
