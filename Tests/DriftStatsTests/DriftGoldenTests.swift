import Foundation
import Testing

@testable import DriftStats

/// One golden number: a value, or null where numpy/scipy give none.
typealias GoldenNumber = Double?

struct DriftGolden: Decodable {
    struct ArrayLocation: Decodable {
        let offset: Int
        let count: Int
    }

    struct NumericCase: Decodable, CustomTestStringConvertible {
        let reference: String
        let window: String
        let psi_edges: [Double]
        let fine_edges: [Double]
        let psi_reference_counts: [UInt64]
        let psi_window_counts: [UInt64]
        let fine_reference_counts: [UInt64]
        let fine_window_counts: [UInt64]
        let window_count: Int
        let window_missing: Int
        let psi: GoldenNumber
        let js_distance: GoldenNumber
        let ks_exact_statistic: GoldenNumber
        let ks_binned_statistic: GoldenNumber
        let ks_pvalue_of_binned: GoldenNumber
        let wasserstein_exact: GoldenNumber
        let mean: GoldenNumber
        let std: GoldenNumber
        let ref_mean: GoldenNumber
        let ref_std: GoldenNumber
        var testDescription: String { "\(reference) vs \(window)" }
    }

    struct CategoricalCase: Decodable, CustomTestStringConvertible {
        let name: String
        let top_k: Int
        let reference_values: [String]
        let window_values: [String]
        let dictionary: [String]
        let reference_counts: [UInt64]
        let window_counts: [UInt64]
        let unseen: UInt64
        let psi: GoldenNumber
        let js_distance: GoldenNumber
        let chi2_pvalue: GoldenNumber
        let new_category_rate: Double
        var testDescription: String { name }
    }

    let psi_bins: Int
    let ks_bins: Int
    let arrays: [String: ArrayLocation]
    let numeric: [NumericCase]
    let categorical: [CategoricalCase]

    static let shared: DriftGolden = try! Golden.load(DriftGolden.self, from: "drift_golden.json")

    static let samples: [Double] = {
        let data = try! Data(contentsOf: Golden.directory.appendingPathComponent("drift_samples.f64"))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 8)).map {
                Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))
            }
        }
    }()

    static func array(_ name: String) -> [Double] {
        let location = shared.arrays[name]!
        return Array(samples[location.offset..<(location.offset + location.count)])
    }
}

/// Relative difference, with exact equality (including both zero) as 0.
func relativeError(_ a: Double, _ b: Double) -> Double {
    if a == b { return 0 }
    return abs(a - b) / max(abs(a), abs(b))
}

@Suite struct DriftGoldenTests {
    let golden = DriftGolden.shared

    func summaries(_ c: DriftGolden.NumericCase) -> (NumericSummary, NumericSummary) {
        let ref = DriftGolden.array(c.reference)
        let win = DriftGolden.array(c.window)
        let psiEdges = BinEdges(referenceQuantilesOf: ref, bins: golden.psi_bins)
        let fineEdges = BinEdges(referenceQuantilesOf: ref, bins: golden.ks_bins)
        var r = NumericSummary(psiEdges: psiEdges, fineEdges: fineEdges)
        var w = NumericSummary(psiEdges: psiEdges, fineEdges: fineEdges)
        r.add(ref)
        w.add(win)
        return (r, w)
    }

    @Test(arguments: DriftGolden.shared.numeric)
    func edgesAndCountsMatchNumpy(_ c: DriftGolden.NumericCase) {
        let (r, w) = summaries(c)
        // Bit-identical edges: the same quantile arithmetic as numpy.
        #expect(r.psi.edges.values == c.psi_edges)
        #expect(r.fine.edges.values == c.fine_edges)
        #expect(r.psi.counts == c.psi_reference_counts)
        #expect(w.psi.counts == c.psi_window_counts)
        #expect(r.fine.counts == c.fine_reference_counts)
        #expect(w.fine.counts == c.fine_window_counts)
        #expect(w.count == c.window_count)
        #expect(w.missing == c.window_missing)
    }

    @Test(arguments: DriftGolden.shared.numeric)
    func metricsMatchScipy(_ c: DriftGolden.NumericCase) throws {
        let (r, w) = summaries(c)
        let m = NumericDriftMetrics(reference: r, window: w)
        expectClose(m.psi, c.psi, 1e-9, "psi")
        expectClose(m.jsDistance, c.js_distance, 1e-9, "js_distance")
        expectClose(m.mean, c.mean, 1e-9, "mean")
        expectClose(m.std, c.std, 1e-9, "std")
        expectClose(m.referenceMean, c.ref_mean, 1e-9, "ref_mean")
        expectClose(m.referenceStd, c.ref_std, 1e-9, "ref_std")
        // D_B is the statistic numpy computes at the same points (to rounding), and
        // scipy's exact D lies in [D_B, D_B + bound].
        expectClose(m.ksStatistic, c.ks_binned_statistic, 1e-12, "ks D_B")
        if let exact = c.ks_exact_statistic, let d = m.ksStatistic, let bound = m.ksErrorBound {
            #expect(d <= exact + 1e-12, "D_B \(d) above the exact D \(exact)")
            #expect(exact <= d + bound + 1e-12, "exact D \(exact) above D_B \(d) + bound \(bound)")
        } else {
            #expect(m.ksStatistic == nil && c.ks_exact_statistic == nil)
        }
        expectClose(m.ksPValue, c.ks_pvalue_of_binned, 1e-6, "ks_pvalue")
        if let exact = c.wasserstein_exact, let lower = m.wasserstein, let bound = m.wassersteinErrorBound {
            let slack = 1e-9 * max(abs(exact), 1e-300)
            #expect(lower <= exact + slack, "W lower \(lower) above exact \(exact)")
            #expect(exact <= lower + bound + slack, "exact W \(exact) above \(lower) + \(bound)")
        } else {
            #expect(m.wasserstein == nil && c.wasserstein_exact == nil)
        }
    }

    @Test(arguments: DriftGolden.shared.categorical)
    func categoricalMetricsMatchScipy(_ c: DriftGolden.CategoricalCase) {
        var counter = CategoryCounter()
        for v in c.reference_values { counter.add(v) }
        let (dictionary, reference) = counter.dictionary(topK: c.top_k)
        #expect(dictionary.categories == c.dictionary)
        #expect(reference.counts == c.reference_counts)
        var window = CategoricalCounts(categoryCount: dictionary.categories.count)
        window.add(codes: c.window_values.map { dictionary.code(of: $0) })
        #expect(window.counts == c.window_counts)
        #expect(window.unseen == c.unseen)
        let m = CategoricalDriftMetrics(reference: reference, window: window)
        expectClose(m.psi, c.psi, 1e-9, "psi")
        expectClose(m.jsDistance, c.js_distance, 1e-9, "js_distance")
        expectClose(m.chi2PValue, c.chi2_pvalue, 1e-9, "chi2_pvalue")
        expectClose(m.newCategoryRate, c.new_category_rate, 1e-15, "new_category_rate")
    }
}

func expectClose(
    _ actual: Double?, _ expected: Double?, _ tolerance: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    switch (actual, expected) {
    case (nil, nil):
        return
    case let (a?, e?):
        #expect(relativeError(a, e) <= tolerance, "\(what): \(a) vs golden \(e)", sourceLocation: sourceLocation)
    default:
        Issue.record("\(what): \(String(describing: actual)) vs golden \(String(describing: expected))", sourceLocation: sourceLocation)
    }
}
