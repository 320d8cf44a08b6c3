/// Everything Driftline keeps about a numeric feature over a window (or a reference):
/// moments, counts over the PSI bins, and a ``FineHistogram`` over the fine bins.
///
/// When the PSI edges are a subset of the fine edges (the default 10 and 1000
/// reference-quantile bins are), the PSI counts are derived from the fine counts
/// instead of being counted twice.
public struct NumericSummary: Sendable, Hashable {
    public internal(set) var moments = Moments()
    public internal(set) var fine: FineHistogram
    var separatePSI: BinnedCounts?
    public let psiEdges: BinEdges

    public init(psiEdges: BinEdges, fineEdges: BinEdges) {
        self.psiEdges = psiEdges
        self.fine = FineHistogram(edges: fineEdges)
        separatePSI = NumericSummary.isSubset(psiEdges, of: fineEdges) ? nil : BinnedCounts(edges: psiEdges)
    }

    static func isSubset(_ coarse: BinEdges, of fine: BinEdges) -> Bool {
        var j = 0
        for e in fine.values where j < coarse.values.count && e == coarse.values[j] { j += 1 }
        return j == coarse.values.count
    }

    /// Counts over the PSI bins.
    public var psi: BinnedCounts {
        if let separatePSI { return separatePSI }
        return BinnedCounts(edges: psiEdges, counts: psiCounts, missing: fine.missing)!
    }

    /// The counts of ``psi`` alone, summed from the fine bins when the edges allow.
    public var psiCounts: [UInt64] {
        if let separatePSI { return separatePSI.counts }
        var result = [UInt64](repeating: 0, count: psiEdges.binCount)
        let fineEdges = fine.edges.values, coarse = psiEdges.values
        var j = 0
        for (i, c) in fine.counts.enumerated() {
            result[j] &+= c
            if i < fineEdges.count, j < coarse.count, fineEdges[i] == coarse[j] { j += 1 }
        }
        return result
    }

    /// Folds pending partial work into the summary (see ``Moments/settle()``).
    public mutating func settle() {
        moments.settle()
    }

    /// Adds a batch of values (NaN is missing).
    public mutating func add(_ values: UnsafeBufferPointer<Double>) {
        moments.add(values)
        fine.add(values)
        separatePSI?.add(values)
    }

    /// Adds a batch of values (NaN is missing).
    public mutating func add(_ values: [Double]) {
        values.withUnsafeBufferPointer { add($0) }
    }

    /// Counts `n` values that were absent.
    public mutating func addMissing(_ n: Int) {
        moments.addMissing(n)
        fine.addMissing(n)
        separatePSI?.addMissing(n)
    }

    /// Merges a summary over the same edges.
    public mutating func merge(_ other: NumericSummary) {
        precondition(other.psiEdges == psiEdges, "merging summaries over different PSI edges")
        moments.merge(other.moments)
        fine.merge(other.fine)
        if let otherPSI = other.separatePSI { separatePSI?.merge(otherPSI) }
    }

    /// Values that are not missing (±∞ included).
    public var count: Int { moments.count }
    /// Missing values.
    public var missing: Int { moments.missing }
}
