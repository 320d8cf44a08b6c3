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
    /// Values per pass of the comparison kernel: 2048 doubles (16 KiB) stay in L1
    /// while each group of edges scans them.
    static let comparisonChunk = 2048

    /// Counts values with SIMD comparisons, without scattering into bins.
    ///
    /// For every threshold `t` of the list `edges + [+∞]` it counts the values
    /// `x <= t` by adding comparison masks (a true lane is -1) into SIMD
    /// accumulators. NaN compares false with everything, so the last threshold
    /// counts exactly the non-NaN values, and the count of bin `b` is
    /// `atOrBelow[b] - atOrBelow[b - 1]`: right-closed bins, NaN in none, ±∞ in
    /// the outer bins. Thresholds are taken four at a time, held in registers,
    /// over chunks of ``comparisonChunk`` values that stay in L1, so nothing is
    /// stored per value and skewed data costs the same as any other.
    ///
    /// - Returns: The number of NaN values, which were not counted in any bin.
    static func comparisonKernel(
        _ values: UnsafeBufferPointer<Double>,
        edges: UnsafeBufferPointer<Double>,
        counts: UnsafeMutableBufferPointer<UInt64>
    ) -> Int {
        let n = values.count
        let k = edges.count
        precondition(k <= maximumEdgesForComparisonKernel && counts.count == k + 1)
        guard n > 0 else { return 0 }
        let slots = k + 1
        // 17 thresholds and 17 counts at most: 272 bytes, always on the stack.
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * (maximumEdgesForComparisonKernel + 1)) { scratch in
            let base = scratch.baseAddress!
            let thresholds = base
            for j in 0..<k { thresholds[j] = edges[j] }
            thresholds[k] = .infinity
            // Counts share the scratch: the bit patterns of Int, never read as Double.
            let atOrBelow = UnsafeMutableRawPointer(base + slots).bindMemory(to: Int.self, capacity: slots)
            atOrBelow.initialize(repeating: 0, count: slots)
            let data = UnsafeRawPointer(values.baseAddress!)
            var start = 0
            while start < n {
                let m = Swift.min(comparisonChunk, n &- start)
                let chunk = data + start &* 8
                var j = 0
                while j < slots {
                    let t = thresholds + j, c = atOrBelow + j
                    // Each arm is the same code with a constant group size.
                    switch slots &- j {
                    case 1: countAtOrBelow(chunk, count: m, thresholds: t, group: 1, into: c)
                    default: countAtOrBelow(chunk, count: m, thresholds: t, group: 2, into: c)
                    }
                    j &+= 2
                }
                start &+= m
            }
            var below = 0
            for b in 0..<slots {
                counts[b] &+= UInt64(atOrBelow[b] &- below)
                below = atOrBelow[b]
            }
            return n &- below
        }
    }

    /// Adds to `atOrBelow[j]` the number of values `x <= thresholds[j]`, for the
    /// first `group` (1...4) thresholds, over `count` values at `values`.
    @inline(__always)
    static func countAtOrBelow(
        _ values: UnsafeRawPointer,
        count m: Int,
        thresholds t: UnsafePointer<Double>,
        group g: Int,
        into atOrBelow: UnsafeMutablePointer<Int>
    ) {
        typealias Lanes = SIMD8<Double>
        typealias Counts = SIMD8<Int64>
        let lanes = Lanes.scalarCount
        let t0 = t[0], t1 = g > 1 ? t[1] : 0, t2 = g > 2 ? t[2] : 0, t3 = g > 3 ? t[3] : 0
        let v0 = Lanes(repeating: t0), v1 = Lanes(repeating: t1)
        let v2 = Lanes(repeating: t2), v3 = Lanes(repeating: t3)
        var a0 = Counts(), a1 = Counts(), a2 = Counts(), a3 = Counts()
        var i = 0
        while i &+ lanes <= m {
            let x = values.loadUnaligned(fromByteOffset: i &* 8, as: Lanes.self)
            a0 &-= unsafeBitCast(x .<= v0, to: Counts.self)
            if g > 1 { a1 &-= unsafeBitCast(x .<= v1, to: Counts.self) }
            if g > 2 { a2 &-= unsafeBitCast(x .<= v2, to: Counts.self) }
            if g > 3 { a3 &-= unsafeBitCast(x .<= v3, to: Counts.self) }
            i &+= lanes
        }
        var c0 = Int(a0.wrappedSum()), c1 = Int(a1.wrappedSum())
        var c2 = Int(a2.wrappedSum()), c3 = Int(a3.wrappedSum())
        while i < m {
            let x = values.loadUnaligned(fromByteOffset: i &* 8, as: Double.self)
            c0 &+= x <= t0 ? 1 : 0
            c1 &+= x <= t1 ? 1 : 0
            c2 &+= x <= t2 ? 1 : 0
            c3 &+= x <= t3 ? 1 : 0
            i &+= 1
        }
        atOrBelow[0] &+= c0
        if g > 1 { atOrBelow[1] &+= c1 }
        if g > 2 { atOrBelow[2] &+= c2 }
        if g > 3 { atOrBelow[3] &+= c3 }
    }
}
