import Testing

import DriftStats

/// The cases of `Fixtures/golden/chi2_pvalues.json`, written by
/// `Fixtures/golden/make_chi2_pvalues.py` with scipy.
struct ChiSquareGolden: Decodable {
    struct IncompleteGammaCase: Decodable, Sendable, CustomTestStringConvertible {
        let a: Double
        let x: Double
        let regime: String
        /// `scipy.special.gammainc(a, x)`
        let p: Double
        /// `scipy.special.gammaincc(a, x)`
        let q: Double
        var testDescription: String { "\(regime): a=\(a) x=\(x)" }
    }

    struct SurvivalCase: Decodable, Sendable, CustomTestStringConvertible {
        let x: Double
        let k: Double
        let regime: String
        /// `scipy.stats.chi2.sf(x, k)`
        let sf: Double
        var testDescription: String { "\(regime): x=\(x) k=\(k)" }
    }

    struct ContingencyCase: Decodable, Sendable, CustomTestStringConvertible {
        let reference: [UInt64]
        let window: [UInt64]
        let regime: String
        /// `scipy.stats.chi2_contingency(table, correction=False)` on the non-empty columns.
        let statistic: Double
        let dof: Int
        let p: Double
        var testDescription: String { "\(regime): \(reference.count) columns, \(reference.prefix(4))…" }
    }

    struct DegenerateCase: Decodable, Sendable, CustomTestStringConvertible {
        let reference: [UInt64]
        let window: [UInt64]
        let note: String
        var testDescription: String { note }
    }

    let scipy_version: String
    let incomplete_gamma: [IncompleteGammaCase]
    let survival: [SurvivalCase]
    let contingency: [ContingencyCase]
    let degenerate: [DegenerateCase]

    /// Relative error of `value` against scipy's `expected`, as the accuracy target counts it.
    ///
    /// The target is relative down to the smallest normal double. Below it, results are
    /// subnormal (few significant bits) and scipy flushes Q to 0 from about 1e-312 on, so
    /// an answer that is also below the smallest normal counts as exact, and any other
    /// answer is scaled by `leastNormalMagnitude` instead of the expected value.
    static func relativeError(_ value: Double, _ expected: Double) -> Double {
        if value.isNaN || expected.isNaN { return value.isNaN && expected.isNaN ? 0 : .infinity }
        if value == expected { return 0 }
        let scale = Swift.max(abs(expected), Double.leastNormalMagnitude)
        if abs(expected) < Double.leastNormalMagnitude, abs(value) < Double.leastNormalMagnitude {
            return 0
        }
        return abs(value - expected) / scale
    }

    /// The accuracy target against scipy, in every regime.
    static let tolerance = 1e-9

    static func load() throws -> ChiSquareGolden {
        try Golden.load(ChiSquareGolden.self, from: "chi2_pvalues.json")
    }
}

@Suite struct IncompleteGammaTests {
    @Test("P and Q match scipy's gammainc and gammaincc", arguments: try ChiSquareGolden.load().incomplete_gamma)
    func matchesScipy(_ c: ChiSquareGolden.IncompleteGammaCase) {
        let p = IncompleteGamma.regularizedLower(a: c.a, x: c.x)
        let q = IncompleteGamma.regularizedUpper(a: c.a, x: c.x)
        #expect(ChiSquareGolden.relativeError(p, c.p) <= ChiSquareGolden.tolerance, "P = \(p), scipy \(c.p)")
        #expect(ChiSquareGolden.relativeError(q, c.q) <= ChiSquareGolden.tolerance, "Q = \(q), scipy \(c.q)")
    }

    @Test("worst relative error per regime stays within 1e-9")
    func worstErrorPerRegime() throws {
        var worst: [String: Double] = [:]
        for c in try ChiSquareGolden.load().incomplete_gamma {
            let e = Swift.max(
                ChiSquareGolden.relativeError(IncompleteGamma.regularizedLower(a: c.a, x: c.x), c.p),
                ChiSquareGolden.relativeError(IncompleteGamma.regularizedUpper(a: c.a, x: c.x), c.q))
            worst[c.regime] = Swift.max(worst[c.regime] ?? 0, e)
        }
        // Every regime the script writes is present, so none silently drops out.
        #expect(Set(worst.keys).isSuperset(of: ["near_mode", "bulk", "far_tail", "small_x", "random", "large_x", "subnormal", "edge"]))
        for (regime, e) in worst {
            #expect(e <= ChiSquareGolden.tolerance, "\(regime): worst relative error \(e)")
        }
    }

    @Test(
        "edge cases never trap",
        arguments: [
            // (a, x, P, Q)
            (1.0, 0.0, 0.0, 1.0),
            (1.0, -1.0, 0.0, 1.0),  // scipy: NaN; Driftline: no evidence
            (1.0, Double.nan, 0.0, 1.0),  // scipy: NaN; Driftline: no evidence
            (1.0, Double.infinity, 1.0, 0.0),
            (0.0, 1.0, 1.0, 0.0),
            (Double.infinity, 1.0, 0.0, 1.0),
            (-1.0, 1.0, Double.nan, Double.nan),
            (Double.nan, 1.0, Double.nan, Double.nan),
            (Double.infinity, Double.infinity, Double.nan, Double.nan),
        ])
    func edgeCases(a: Double, x: Double, p: Double, q: Double) {
        let gotP = IncompleteGamma.regularizedLower(a: a, x: x)
        let gotQ = IncompleteGamma.regularizedUpper(a: a, x: x)
        #expect(gotP == p || (gotP.isNaN && p.isNaN), "P(\(a), \(x)) = \(gotP)")
        #expect(gotQ == q || (gotQ.isNaN && q.isNaN), "Q(\(a), \(x)) = \(gotQ)")
    }

    @Test("the far tail keeps its relative accuracy instead of underflowing through 1 − P")
    func farTailIsComputedDirectly() {
        // Q(0.5, 700) = erfc(√700) ≈ 1.9e-306; 1 − P would be exactly 0.
        let q = IncompleteGamma.regularizedUpper(a: 0.5, x: 700)
        #expect(q > 1e-306 && q < 1e-305)
        #expect(IncompleteGamma.regularizedLower(a: 0.5, x: 700) == 1)
    }
}

@Suite struct ChiSquareTests {
    @Test("survival matches scipy's chi2.sf", arguments: try ChiSquareGolden.load().survival)
    func survivalMatchesScipy(_ c: ChiSquareGolden.SurvivalCase) {
        // Documented difference: a NaN statistic is "no evidence" (1), where scipy gives NaN.
        let expected = c.x.isNaN ? 1 : c.sf
        let sf = ChiSquare.survival(c.x, degreesOfFreedom: c.k)
        #expect(ChiSquareGolden.relativeError(sf, expected) <= ChiSquareGolden.tolerance, "sf = \(sf), scipy \(c.sf)")
    }

    @Test("worst survival error per regime stays within 1e-9")
    func survivalWorstErrorPerRegime() throws {
        var worst: [String: Double] = [:]
        for c in try ChiSquareGolden.load().survival where !c.x.isNaN {
            let e = ChiSquareGolden.relativeError(ChiSquare.survival(c.x, degreesOfFreedom: c.k), c.sf)
            worst[c.regime] = Swift.max(worst[c.regime] ?? 0, e)
        }
        #expect(Set(worst.keys).isSuperset(of: ["bulk", "far_tail", "small_x", "random", "edge"]))
        for (regime, e) in worst {
            #expect(e <= ChiSquareGolden.tolerance, "\(regime): worst relative error \(e)")
        }
    }

    @Test(
        "survival edge cases",
        arguments: [
            // (x, k, expected)
            (0.0, 3.0, 1.0),
            (-5.0, 3.0, 1.0),
            (Double.nan, 3.0, 1.0),
            (Double.infinity, 3.0, 0.0),
            (1.0, 0.0, Double.nan),
            (1.0, -2.0, Double.nan),
            (1.0, Double.nan, Double.nan),
        ])
    func survivalEdgeCases(x: Double, k: Double, expected: Double) {
        let sf = ChiSquare.survival(x, degreesOfFreedom: k)
        #expect(sf == expected || (sf.isNaN && expected.isNaN), "sf(\(x), \(k)) = \(sf)")
    }

    @Test("homogeneity matches scipy's chi2_contingency", arguments: try ChiSquareGolden.load().contingency)
    func homogeneityMatchesScipy(_ c: ChiSquareGolden.ContingencyCase) {
        let result = ChiSquare.homogeneity(reference: c.reference, window: c.window)
        #expect(result.degreesOfFreedom == c.dof)
        // Only the summation order differs from numpy's (pairwise) sum.
        #expect(ChiSquareGolden.relativeError(result.statistic, c.statistic) <= 1e-12, "statistic \(result.statistic), scipy \(c.statistic)")
        #expect(ChiSquareGolden.relativeError(result.pValue, c.p) <= ChiSquareGolden.tolerance, "p \(result.pValue), scipy \(c.p)")
    }

    @Test("tables without a test give statistic 0, no degrees of freedom and p = 1", arguments: try ChiSquareGolden.load().degenerate)
    func degenerateTables(_ c: ChiSquareGolden.DegenerateCase) {
        let result = ChiSquare.homogeneity(reference: c.reference, window: c.window)
        #expect(result.statistic == 0)
        #expect(result.degreesOfFreedom == 0)
        #expect(result.pValue == 1)
    }

    @Test("buffer and array forms agree")
    func bufferForm() {
        let reference: [UInt64] = [120, 0, 340, 55, 7]
        let window: [UInt64] = [100, 0, 390, 20, 9]
        let fromArrays = ChiSquare.homogeneity(reference: reference, window: window)
        let fromBuffers = reference.withUnsafeBufferPointer { r in
            window.withUnsafeBufferPointer { w in ChiSquare.homogeneity(reference: r, window: w) }
        }
        #expect(fromArrays == fromBuffers)
        #expect(fromArrays.degreesOfFreedom == 3)
    }

    @Test("counts near UInt64.max neither overflow nor trap")
    func hugeCounts() {
        let result = ChiSquare.homogeneity(
            reference: [.max, .max, 1], window: [.max - 1, .max, .max / 2])
        #expect(result.statistic.isFinite)
        #expect(result.degreesOfFreedom == 2)
        #expect(result.pValue >= 0 && result.pValue <= 1)
        // Identical rows of huge counts: no difference at all.
        let same = ChiSquare.homogeneity(reference: [.max, .max / 3], window: [.max, .max / 3])
        #expect(same.statistic == 0)
        #expect(same.pValue == 1)
    }

    @Test("reference and window of different lengths are a programming error")
    func mismatchedLengths() async {
        await #expect(processExitsWith: .failure) {
            _ = ChiSquare.homogeneity(reference: [1, 2, 3], window: [1, 2])
        }
    }
}
