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
    /// When the PSI edges are fine edges: for each PSI bin, the end (exclusive) of
    /// its run of fine bins. Computed once per summary, so reading the PSI counts is
    /// ten range sums.
    let psiRunEnds: [Int]
    public let psiEdges: BinEdges

    public init(psiEdges: BinEdges, fineEdges: BinEdges) {
        self.psiEdges = psiEdges
        self.fine = FineHistogram(edges: fineEdges)
        if let ends = NumericSummary.runEnds(of: psiEdges, in: fineEdges) {
            psiRunEnds = ends
            separatePSI = nil
        } else {
            psiRunEnds = []
            separatePSI = BinnedCounts(edges: psiEdges)
        }
    }

    /// For coarse edges that are a subset of fine ones: per coarse bin, the end
    /// (exclusive) of its run of fine bins; `nil` when they are not a subset.
    static func runEnds(of coarse: BinEdges, in fine: BinEdges) -> [Int]? {
        var ends: [Int] = []
        ends.reserveCapacity(coarse.binCount)
        var j = 0
        for (i, e) in fine.values.enumerated() where j < coarse.values.count && e == coarse.values[j] {
            ends.append(i + 1)  // fine bin i ends at edge i
            j += 1
        }
        guard j == coarse.values.count else { return nil }
        ends.append(fine.binCount)
        return ends
    }

    static func isSubset(_ coarse: BinEdges, of fine: BinEdges) -> Bool {
        runEnds(of: coarse, in: fine) != nil
    }

    /// Counts over the PSI bins.
    public var psi: BinnedCounts {
        if let separatePSI { return separatePSI }
        return BinnedCounts(edges: psiEdges, counts: psiCounts, missing: fine.missing)!
    }

    /// The counts of ``psi`` alone, summed from the fine bins when the edges allow.
    public var psiCounts: [UInt64] {
        if let separatePSI { return separatePSI.counts }
        return fine.counts.withUnsafeBufferPointer { c in
            var start = 0
            return psiRunEnds.map { end in
                var sum: UInt64 = 0
                for i in start..<end { sum &+= c[i] }
                start = end
                return sum
            }
        }
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
