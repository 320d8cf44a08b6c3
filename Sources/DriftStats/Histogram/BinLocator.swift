/// Finds the bin of a value among many edges with a lookup table plus an exact fix-up.
///
/// A uniform grid of cells covers the central edges; for each cell the table holds
/// the number of edges whose own cell is lower, which never exceeds the bin of any
/// value in the cell (the cell of a value is a monotone function of it, so an edge in
/// a lower cell is below every value of this cell). From there a short forward scan
/// over the edges ends at the exact bin, so rounding in the cell computation can cost
/// a step but never a wrong answer. The grid spans the edges between the 1st and
/// 99th percentile of the edge list, so heavy-tailed references (Cauchy, lognormal)
/// keep a fine grid where most values fall; values beyond it clamp to the outer cells
/// and scan the few tail edges.
struct BinLocator {
    /// Edges, followed by a NaN sentinel (never equal to anything) so that
    /// `paddedEdges[bin]` can be read for every bin.
    let paddedEdges: [Double]
    let edgeCount: Int
    /// table[c] = number of edges in cells below `c`; table has `cells + 1` entries.
    let table: [Int32]
    let origin: Double
    let scale: Double
    let lastCell: Double

    init(_ edges: BinEdges) {
        let e = edges.values
        edgeCount = e.count
        paddedEdges = e + [.nan]
        let cells = BinLocator.cellCount(forEdges: e.count)
        if e.count >= 2 {
            let lowIndex = e.count / 100
            let highIndex = e.count - 1 - e.count / 100
            origin = e[lowIndex]
            let span = e[highIndex] - e[lowIndex]
            let s = Double(cells) / span
            // A span so small or so large that the scale is not a normal number: one cell.
            scale = (s.isFinite && s > 0) ? s : 0
        } else {
            origin = e.first ?? 0
            scale = 0
        }
        lastCell = Double(cells - 1)
        var table = [Int32](repeating: 0, count: cells + 1)
        // Count edges per cell, then prefix-sum into "edges in lower cells".
        var perCell = [Int32](repeating: 0, count: cells)
        for x in e {
            perCell[BinLocator.cell(of: x, origin: origin, scale: scale, lastCell: lastCell)] += 1
        }
        var running: Int32 = 0
        for c in 0..<cells {
            table[c] = running
            running += perCell[c]
        }
        table[cells] = running
        self.table = table
    }

    /// Grid cells for a number of edges: about eight per edge, a power of two,
    /// between 64 and 16 384 (a 64 KiB table stays in L1/L2).
    static func cellCount(forEdges k: Int) -> Int {
        var cells = 64
        while cells < 8 * k && cells < 16_384 { cells *= 2 }
        return cells
    }

    /// The grid cell of a non-NaN value (±∞ clamp to the outer cells).
    @inline(__always)
    static func cell(of x: Double, origin: Double, scale: Double, lastCell: Double) -> Int {
        let t = (x - origin) * scale
        // Double.minimum/maximum ignore NaN, which only 0·∞ (scale 0, x infinite) gives.
        let clamped = Double.maximum(0, Double.minimum(t, lastCell))
        return Int(clamped)
    }

    /// The bin of a non-NaN value.
    @inline(__always)
    func bin(of x: Double, edges: UnsafePointer<Double>, table: UnsafePointer<Int32>) -> Int {
        var b = Int(table[BinLocator.cell(of: x, origin: origin, scale: scale, lastCell: lastCell)])
        // The sentinel is NaN, so `x > edges[edgeCount]` is false and ends the scan.
        while x > edges[b] { b &+= 1 }
        return b
    }

    /// Adds the bins of `values` to `counts` (one per bin), using four interleaved
    /// sub-histograms against skew.
    ///
    /// - Returns: The number of NaN values, which are not counted in any bin.
    func count(_ values: UnsafeBufferPointer<Double>, into counts: UnsafeMutableBufferPointer<UInt64>) -> Int {
        let bins = edgeCount + 1
        return paddedEdges.withUnsafeBufferPointer { e in
            table.withUnsafeBufferPointer { t in
                let sub = UnsafeMutablePointer<UInt64>.allocate(capacity: 4 * bins)
                defer { sub.deallocate() }
                sub.initialize(repeating: 0, count: 4 * bins)
                var nan = 0
                for i in 0..<values.count {
                    let x = values[i]
                    if x.isNaN {
                        nan &+= 1
                        continue
                    }
                    sub[(i & 3) &* bins &+ bin(of: x, edges: e.baseAddress!, table: t.baseAddress!)] &+= 1
                }
                for b in 0..<bins {
                    counts[b] &+= sub[b] &+ sub[bins &+ b] &+ sub[2 &* bins &+ b] &+ sub[3 &* bins &+ b]
                }
                return nan
            }
        }
    }
}
