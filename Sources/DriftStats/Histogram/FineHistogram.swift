/// A histogram over many reference-quantile edges that keeps enough per bin to
/// bound the Kolmogorov–Smirnov statistic and the Wasserstein-1 distance.
///
/// Per bin `j` it keeps the count, the count of values exactly on the bin's right
/// edge (so the mass strictly inside a bin is known), and the sum of the offsets of
/// its finite values from an anchor: the bin's left edge, or for bin 0 its right edge
/// (its left edge is -∞). Offsets keep the sums well conditioned however far the
/// data sits from zero. ±∞ are counted in the outer bins and in
/// ``positiveInfinities``/``negativeInfinities``, never in the sums.
///
/// Counts merge exactly under any split and order. The offset sums are floating
/// point: they are added in arrival order, so the same values in the same order give
/// bit-identical sums whatever the batch sizes; merging partial sums can differ in
/// the last bits.
public struct FineHistogram: Sendable {
    /// The edges the histogram is kept over.
    public let edges: BinEdges
    /// One count per bin.
    public internal(set) var counts: [UInt64]
    /// Per bin, the values equal to its right edge (0 for the last bin, which has none).
    public internal(set) var rightEdgeCounts: [UInt64]
    /// Per bin, the sum of (value − anchor) over its finite values.
    public internal(set) var offsetSums: [Double]
    /// NaN values (missing).
    public internal(set) var missing: UInt64 = 0
    /// Values equal to +∞ (counted in the last bin).
    public internal(set) var positiveInfinities: UInt64 = 0
    /// Values equal to -∞ (counted in bin 0).
    public internal(set) var negativeInfinities: UInt64 = 0
    let locator: BinLocator
    /// ``anchor(ofBin:)`` for every bin.
    let anchors: [Double]

    public init(edges: BinEdges) {
        self.edges = edges
        let bins = edges.binCount
        counts = Array(repeating: 0, count: bins)
        rightEdgeCounts = Array(repeating: 0, count: bins)
        offsetSums = Array(repeating: 0, count: bins)
        locator = BinLocator(edges)
        let e = edges.values
        anchors = (0..<bins).map { j in e.isEmpty ? 0 : (j == 0 ? e[0] : e[j - 1]) }
    }

    /// The anchor that the offsets of bin `j` are taken from.
    public func anchor(ofBin j: Int) -> Double { anchors[j] }

    /// Values counted in bins (not missing), including ±∞.
    public var total: UInt64 { counts.reduce(0, &+) }

    /// Counts `n` missing values that arrived without a number (absent fields).
    public mutating func addMissing(_ n: Int) {
        missing &+= UInt64(n)
    }

    /// Adds a batch of values. Allocates nothing.
    ///
    /// Bins are found a block at a time (see ``BinLocator``), then a second pass over
    /// the block adds counts, on-edge counts and offsets, each bin's sum in arrival
    /// order with one accumulator, so results do not depend on batch sizes.
    public mutating func add(_ values: UnsafeBufferPointer<Double>) {
        guard values.count > 0 else { return }
        var posInf: UInt64 = 0, negInf: UInt64 = 0
        let locator = self.locator
        let nan = counts.withUnsafeMutableBufferPointer { countBuffer in
            rightEdgeCounts.withUnsafeMutableBufferPointer { onEdgeBuffer in
                offsetSums.withUnsafeMutableBufferPointer { sumBuffer in
                    anchors.withUnsafeBufferPointer { anchorBuffer in
                        locator.paddedEdges.withUnsafeBufferPointer { edgeBuffer in
                            let counts = countBuffer.baseAddress!, onEdge = onEdgeBuffer.baseAddress!
                            let sums = sumBuffer.baseAddress!, anchors = anchorBuffer.baseAddress!
                            let edges = edgeBuffer.baseAddress!
                            return locator.forEachBlock(values, infinity: { b, isPositive in
                                // Counted in the outer bin, never in the sums.
                                counts[b] &+= 1
                                if isPositive { posInf &+= 1 } else { negInf &+= 1 }
                            }) { x, bins, m in
                                for i in 0..<m {
                                    let b = Int(bins[i])
                                    if _slowPath(b < 0) { continue }
                                    let v = x[i]
                                    counts[b] &+= 1
                                    onEdge[b] &+= v == edges[b] ? 1 : 0
                                    sums[b] += v - anchors[b]
                                }
                            }
                        }
                    }
                }
            }
        }
        missing &+= UInt64(nan)
        positiveInfinities &+= posInf
        negativeInfinities &+= negInf
    }

    /// Adds a batch of values.
    public mutating func add(_ values: [Double]) {
        values.withUnsafeBufferPointer { add($0) }
    }

    /// Adds another histogram over the same edges.
    ///
    /// - Precondition: `other.edges == edges`.
    public mutating func merge(_ other: FineHistogram) {
        precondition(other.edges == edges, "merging histograms over different bin edges")
        for i in counts.indices {
            counts[i] &+= other.counts[i]
            rightEdgeCounts[i] &+= other.rightEdgeCounts[i]
            offsetSums[i] += other.offsetSums[i]
        }
        missing &+= other.missing
        positiveInfinities &+= other.positiveInfinities
        negativeInfinities &+= other.negativeInfinities
    }

    /// The counts alone, as ``BinnedCounts`` over the same edges.
    public var binnedCounts: BinnedCounts {
        BinnedCounts(edges: edges, counts: counts, missing: missing)!
    }
}

extension FineHistogram: Hashable {
    public static func == (a: FineHistogram, b: FineHistogram) -> Bool {
        a.edges == b.edges && a.counts == b.counts && a.rightEdgeCounts == b.rightEdgeCounts
            && a.offsetSums == b.offsetSums && a.missing == b.missing
            && a.positiveInfinities == b.positiveInfinities && a.negativeInfinities == b.negativeInfinities
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(edges)
        hasher.combine(counts)
        hasher.combine(rightEdgeCounts)
    }
}
