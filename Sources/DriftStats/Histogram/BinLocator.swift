/// Finds the bin of a value among many edges with a lookup table plus an exact fix-up.
///
/// A uniform grid of cells covers the central edges; for each cell the table holds
/// the number of edges whose own cell is lower, which never exceeds the bin of any
/// value in the cell (the cell of a value is a monotone function of it, so an edge in
/// a lower cell is below every value of this cell), and `table[c + 1]` never falls
/// below it. From there one branchless step (`b += x > edges[b]`) gives the exact
/// bin whenever the value's cell holds at most one edge below it; a rare second
/// check sends the rest to a binary search between the two table bounds. Rounding
/// in the cell computation can therefore cost time but never a wrong answer.
///
/// The grid spans the edges between the 1st and 99th percentile of the edge list,
/// so heavy-tailed references (Cauchy, lognormal) keep a fine grid where most values
/// fall, and its cells are no wider than the smallest gap between those central
/// edges (up to ``maximumCellCount`` cells), so a cell almost never holds two edges.
/// Values beyond the grid clamp to the outer cells and take the binary search over
/// the few tail edges.
struct BinLocator: Sendable {
    /// Edges, followed by a NaN sentinel (never equal to anything, `x > NaN` is
    /// false) so that `paddedEdges[bin]` can be read for every bin.
    let paddedEdges: [Double]
    let edgeCount: Int
    /// table[c] = number of edges in cells below `c`; table has `cells + 1` entries.
    let table: [UInt32]
    let origin: Double
    let scale: Double
    let lastCell: Double

    /// Most grid cells: a 256 KiB table, of which a value distribution touches the
    /// few cells around its bulk.
    static let maximumCellCount = 65_536
    /// Fewest grid cells.
    static let minimumCellCount = 64

    init(_ edges: BinEdges) {
        let e = edges.values
        edgeCount = e.count
        paddedEdges = e + [.nan]
        var cells = BinLocator.minimumCellCount
        if e.count >= 2 {
            let lowIndex = e.count / 100
            let highIndex = e.count - 1 - e.count / 100
            origin = e[lowIndex]
            let span = e[highIndex] - e[lowIndex]
            cells = BinLocator.cellCount(edges: e[lowIndex...highIndex], span: span)
            let s = Double(cells) / span
            // A span so small or so large that the scale is not a normal number: every
            // value takes the binary search, which is exact on its own.
            scale = (s.isFinite && s > 0) ? s : 0
        } else {
            origin = e.first ?? 0
            scale = 0
        }
        lastCell = Double(cells - 1)
        // Count edges per cell, then prefix-sum into "edges in lower cells".
        var perCell = [UInt32](repeating: 0, count: cells)
        for x in e {
            perCell[BinLocator.cell(of: x, origin: origin, scale: scale, lastCell: lastCell)] += 1
        }
        var table = [UInt32](repeating: 0, count: cells + 1)
        var running: UInt32 = 0
        for c in 0..<cells {
            table[c] = running
            running += perCell[c]
        }
        table[cells] = running
        self.table = table
    }

    /// Grid cells for the central edges: enough that a cell is no wider than the
    /// smallest gap between them, between ``minimumCellCount`` and ``maximumCellCount``.
    static func cellCount(edges central: ArraySlice<Double>, span: Double) -> Int {
        var smallestGap = Double.infinity
        var previous = central.first!
        for x in central.dropFirst() {
            smallestGap = Swift.min(smallestGap, x - previous)
            previous = x
        }
        let wanted = (span / smallestGap).rounded(.up) + 1
        guard wanted.isFinite, wanted < Double(maximumCellCount) else { return maximumCellCount }
        return Swift.max(minimumCellCount, Int(wanted))
    }

    /// The grid cell of a non-NaN value (±∞ clamp to the outer cells).
    @inline(__always)
    static func cell(of x: Double, origin: Double, scale: Double, lastCell: Double) -> Int {
        let t = (x - origin) * scale
        // Compare-and-select compiles to maxsd/minsd, no branch. The lower clamp comes
        // first so that the one NaN `t` can take (0·∞: scale 0, x - origin infinite)
        // becomes cell 0, from which the search is still exact.
        let low = t > 0 ? t : 0
        let clamped = low < lastCell ? low : lastCell
        // Rounds to the nearest integer by adding 2^52 and reading the low bits: a
        // monotone map, which is all the table needs, without the range checks of
        // `Int(_:)` (they turn the clamps above into branches).
        return Int(truncatingIfNeeded: (clamped + 0x1p52).bitPattern &- (0x1p52 as Double).bitPattern)
    }

    /// The bin of a non-NaN value.
    @inline(__always)
    func bin(of x: Double, edges: UnsafePointer<Double>, table: UnsafePointer<UInt32>) -> Int {
        bin(of: x, inCell: BinLocator.cell(of: x, origin: origin, scale: scale, lastCell: lastCell), edges: edges, table: table)
    }

    /// The bin of a non-NaN value, given its cell.
    @inline(__always)
    func bin(of x: Double, inCell c: Int, edges: UnsafePointer<Double>, table: UnsafePointer<UInt32>) -> Int {
        var b = Int(table[c])
        b &+= x > edges[b] ? 1 : 0
        // The sentinel is NaN, so the check is false at the last bin.
        if _slowPath(x > edges[b]) {
            b = BinLocator.search(x, edges: edges, above: b, atMost: Int(table[c &+ 1]))
        }
        return b
    }

    /// Writes the cells of `count` values to `cells`, eight at a time.
    ///
    /// The same map as ``cell(of:origin:scale:lastCell:)``, lane by lane: vector
    /// selects are never turned into branches, while scalar ones can be.
    ///
    /// - Returns: Whether every value is finite (NaN and ±∞ need the careful loop).
    @inline(__always)
    func cells(of values: UnsafePointer<Double>, count m: Int, into cells: UnsafeMutablePointer<Int32>) -> Bool {
        typealias Lanes = SIMD8<Double>
        let origin = Lanes(repeating: origin), scale = Lanes(repeating: scale)
        let last = Lanes(repeating: lastCell), zero = Lanes(), magic = Lanes(repeating: 0x1p52)
        let magicBits = SIMD8<Int64>(repeating: Int64((0x1p52 as Double).bitPattern))
        let raw = UnsafeRawPointer(values)
        // x - x is NaN exactly for NaN and ±∞.
        var nonFinite = SIMDMask<SIMD8<Int64>>()
        var i = 0
        while i &+ 8 <= m {
            let x = raw.loadUnaligned(fromByteOffset: i &* 8, as: Lanes.self)
            let d = x - x
            nonFinite .|= d .!= d
            let t = (x - origin) * scale
            let low = zero.replacing(with: t, where: t .> zero)
            let clamped = last.replacing(with: low, where: low .< last)
            let bits = unsafeBitCast(clamped + magic, to: SIMD8<Int64>.self) &- magicBits
            UnsafeMutableRawPointer(cells + i).storeBytes(
                of: SIMD8<Int32>(truncatingIfNeeded: bits), as: SIMD8<Int32>.self)
            i &+= 8
        }
        var finite = !any(nonFinite)
        while i < m {
            finite = finite && values[i].isFinite
            cells[i] = Int32(truncatingIfNeeded: BinLocator.cell(of: values[i], origin: self.origin, scale: self.scale, lastCell: lastCell))
            i &+= 1
        }
        return finite
    }

    /// The first index `i` in `lower + 1 ... upper` with `!(x > edges[i])`, given
    /// `x > edges[lower]` and that `upper` is such an index.
    @inline(never)
    static func search(_ x: Double, edges: UnsafePointer<Double>, above lower: Int, atMost upper: Int) -> Int {
        var low = lower, high = upper  // x > edges[low], !(x > edges[high])
        while high &- low > 1 {
            let middle = low &+ (high &- low) >> 1
            if x > edges[middle] { low = middle } else { high = middle }
        }
        return high
    }

    /// Values handled per block of ``count(_:into:)``: their bins fit a 1 KiB stack buffer.
    static let block = 256

    /// Computes the bins of `values` block by block, then hands each block to `body`.
    ///
    /// Non-finite values are handled here and given the bin `-1`: NaN is counted in
    /// the returned total, ±∞ are passed to `infinity(bin, isPositive)`. Finding
    /// every bin of a block before using any keeps the lookups free of the counter
    /// stores, so independent values overlap in the pipeline.
    ///
    /// - Returns: The number of NaN values.
    @inline(__always)
    func forEachBlock(
        _ values: UnsafeBufferPointer<Double>,
        infinity: (_ bin: Int, _ isPositive: Bool) -> Void,
        _ body: (_ values: UnsafePointer<Double>, _ bins: UnsafePointer<Int32>, _ count: Int) -> Void
    ) -> Int {
        let n = values.count
        guard n > 0 else { return 0 }
        return paddedEdges.withUnsafeBufferPointer { e in
            table.withUnsafeBufferPointer { t in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: BinLocator.block) { scratch in
                    let edges = e.baseAddress!, table = t.baseAddress!, bins = scratch.baseAddress!
                    let source = values.baseAddress!
                    var nan = 0
                    var start = 0
                    while start < n {
                        let m = Swift.min(BinLocator.block, n &- start)
                        let p = source + start
                        if cells(of: p, count: m, into: bins) {
                            for i in 0..<m {
                                let x = p[i], c = Int(bins[i])
                                bins[i] = Int32(truncatingIfNeeded: bin(of: x, inCell: c, edges: edges, table: table))
                            }
                        } else {
                            for i in 0..<m {
                            let x = p[i]
                            if _slowPath(!x.isFinite) {
                                bins[i] = -1
                                if x.isNaN {
                                    nan &+= 1
                                } else {
                                    infinity(x > 0 ? edgeCount : 0, x > 0)
                                }
                                continue
                            }
                            let c = Int(bins[i])
                            bins[i] = Int32(truncatingIfNeeded: bin(of: x, inCell: c, edges: edges, table: table))
                        }
                        }
                        body(p, bins, m)
                        start &+= m
                    }
                    return nan
                }
            }
        }
    }

    /// Adds the bins of `values` to `counts` (one per bin). Allocates nothing.
    ///
    /// - Returns: The number of NaN values, which are not counted in any bin.
    func count(_ values: UnsafeBufferPointer<Double>, into counts: UnsafeMutableBufferPointer<UInt64>) -> Int {
        let c = counts.baseAddress!
        return forEachBlock(values, infinity: { b, _ in c[b] &+= 1 }) { _, bins, m in
            for i in 0..<m {
                let b = Int(bins[i])
                if _slowPath(b < 0) { continue }
                c[b] &+= 1
            }
        }
    }
}
