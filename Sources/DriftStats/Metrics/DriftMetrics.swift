/// Drift metrics of a numeric feature: a window compared with its reference.
///
/// A metric that cannot be computed is `nil`, never NaN: every metric is `nil` for an
/// empty (or all-missing) window or reference; the moment-based ones are `nil` when
/// there is no finite value; `meanShift` and `stdRatio` are `nil` when the reference
/// standard deviation is 0 (a constant reference).
public struct NumericDriftMetrics: Sendable, Hashable {
    public var count: Int
    public var missing: Int
    public var psi: Double?
    public var ksStatistic: Double?
    public var ksErrorBound: Double?
    public var ksPValue: Double?
    public var jsDistance: Double?
    public var wasserstein: Double?
    public var wassersteinErrorBound: Double?
    public var mean: Double?
    public var std: Double?
    public var referenceMean: Double?
    public var referenceStd: Double?
    /// (window mean − reference mean) / reference std.
    public var meanShift: Double?
    /// window std / reference std.
    public var stdRatio: Double?

    /// Compares a window summary with the reference summary over the same edges.
    public init(reference: NumericSummary, window: NumericSummary) {
        // Settled copies: every moment below is then read without recomputation.
        var r = reference.moments, w = window.moments
        r.settle()
        w.settle()
        count = w.count
        missing = w.missing
        let referencePSI = reference.psiCounts, windowPSI = window.psiCounts
        psi = BinnedDivergence.psi(expected: referencePSI, actual: windowPSI)
        jsDistance = BinnedDivergence.jensenShannonDistance(referencePSI, windowPSI)
        if let ks = BinnedKolmogorovSmirnov(reference: reference.fine, window: window.fine) {
            ksStatistic = ks.statistic
            ksErrorBound = ks.errorBound
            ksPValue = KolmogorovSmirnov.twoSamplePValue(
                statistic: ks.statistic, n: Int(reference.fine.total), m: Int(window.fine.total))
        }
        if r.finiteCount > 0, w.finiteCount > 0,
            let wasserstein = BinnedWasserstein(
                reference: reference.fine, window: window.fine,
                finiteMin: Swift.min(r.finiteMin, w.finiteMin),
                finiteMax: Swift.max(r.finiteMax, w.finiteMax))
        {
            self.wasserstein = wasserstein.distance
            wassersteinErrorBound = wasserstein.errorBound
        }
        mean = w.mean
        std = w.standardDeviation
        referenceMean = r.mean
        referenceStd = r.standardDeviation
        if let mean, let std, let referenceMean, let referenceStd, referenceStd > 0 {
            let shift = (mean - referenceMean) / referenceStd
            meanShift = shift.isFinite ? shift : nil
            let ratio = std / referenceStd
            stdRatio = ratio.isFinite ? ratio : nil
        }
        // Moments of data near the largest doubles can overflow; report nil, not ∞.
        if let v = mean, !v.isFinite { mean = nil }
        if let v = std, !v.isFinite { std = nil }
        if let v = referenceMean, !v.isFinite { referenceMean = nil }
        if let v = referenceStd, !v.isFinite { referenceStd = nil }
        if let v = wasserstein, !v.isFinite { wasserstein = nil; wassersteinErrorBound = nil }
    }
}

/// Drift metrics of a categorical feature over the reference dictionary.
///
/// Every metric is `nil` for an empty (or all-missing) window or reference.
public struct CategoricalDriftMetrics: Sendable, Hashable {
    public var count: Int
    public var missing: Int
    /// PSI over the dictionary categories and `__other__`, proportions floored at 1e-4.
    public var psi: Double?
    /// `scipy.stats.chi2_contingency([ref, win], correction=False)` p-value over the
    /// categories with a non-zero total.
    public var chi2PValue: Double?
    public var jsDistance: Double?
    /// Share of window values the reference never had.
    public var newCategoryRate: Double?

    public init(reference: CategoricalCounts, window: CategoricalCounts) {
        let total = window.total
        count = Int(total)
        missing = Int(window.missing)
        psi = BinnedDivergence.psi(expected: reference.counts, actual: window.counts)
        jsDistance = BinnedDivergence.jensenShannonDistance(reference.counts, window.counts)
        if reference.total > 0, total > 0 {
            chi2PValue = ChiSquare.homogeneity(reference: reference.counts, window: window.counts).pValue
            newCategoryRate = Double(window.unseen) / Double(total)
        }
    }
}
