import Testing

@testable import DriftStats

/// The golden table written by `Fixtures/golden/make_ks_pvalues.py` (scipy 1.17.1).
private struct KSGolden: Decodable {
    struct TwoSample: Decodable {
        let n: Int
        let m: Int
        let d: Double
        let p: Double
        /// Whether scipy's exact attempt succeeded; absent outside the exact range.
        let exact: Bool?
    }

    struct OneSample: Decodable {
        let n: Int
        let d: Double
        let p: Double
        let branch: String?
    }

    let exact: [TwoSample]
    let asymptotic: [TwoSample]
    let kstwo: [OneSample]
    let smirnov: [OneSample]
    let samples: [TwoSample]

    static let table: KSGolden? = try? Golden.load(KSGolden.self, from: "ks_pvalues.json")
}

/// Agreement of one computed p-value with scipy's.
///
/// Relative error `|p - q| / q` is required for `q >= 1e-12`. Below 1e-12 (beyond any
/// practical significance level, and where scipy's own `1 - p` forms lose meaning) either
/// both values are below 1e-12 or they agree to the same relative tolerance.
private func agrees(_ p: Double, _ q: Double, relative tolerance: Double) -> Bool {
    guard p.isFinite, q.isFinite, (0...1).contains(p) else { return false }
    if errorRelativeToScipy(p, q) <= tolerance { return true }
    return q < 1e-12 && p < 1e-12
}

/// Relative error of `p` with respect to the scipy value `q`.
private func errorRelativeToScipy(_ p: Double, _ q: Double) -> Double {
    if p == q { return 0 }
    return abs(p - q) / abs(q)
}

/// Largest relative error per label, for p >= 1e-12 (printed for the record).
private struct WorstErrors {
    private(set) var worst: [String: (error: Double, what: String)] = [:]

    mutating func record(_ label: String, _ p: Double, _ q: Double, _ what: @autoclosure () -> String) {
        guard q >= 1e-12 else { return }
        let e = errorRelativeToScipy(p, q)
        if e >= (worst[label]?.error ?? -1) { worst[label] = (e, what()) }
    }

    func report(_ title: String) {
        for (label, value) in worst.sorted(by: { $0.key < $1.key }) {
            print("[KS golden] \(title) \(label): worst relative error \(value.error) at \(value.what)")
        }
    }
}

@Suite struct KolmogorovSmirnovTests {
    private let golden: KSGolden

    init() throws {
        golden = try #require(KSGolden.table, "Fixtures/golden/ks_pvalues.json must decode")
    }

    // MARK: - Golden agreement with scipy

    @Test func exactBranchMatchesScipy() {
        var worst = WorstErrors()
        var fallbacks = 0
        for c in golden.exact {
            let p = KolmogorovSmirnov.twoSamplePValue(statistic: c.d, n: c.n, m: c.m)
            let exact = KolmogorovSmirnov.exactTwoSamplePValue(statistic: c.d, n: c.n, m: c.m)
            let label = c.exact == false ? "fallback-to-asymptotic" : (c.n == c.m ? "exact-square" : "exact-inside")
            worst.record(label, p, c.p, "n=\(c.n) m=\(c.m) d=\(c.d) p=\(p) scipy=\(c.p)")
            if c.exact == false {
                fallbacks += 1
                #expect(exact == nil, "scipy falls back for n=\(c.n) m=\(c.m) d=\(c.d)")
                #expect(agrees(p, c.p, relative: 1e-3), "n=\(c.n) m=\(c.m) d=\(c.d): \(p) vs scipy \(c.p)")
            } else {
                #expect(exact == p, "n=\(c.n) m=\(c.m) d=\(c.d): exact \(String(describing: exact)) vs \(p)")
                #expect(agrees(p, c.p, relative: 1e-6), "n=\(c.n) m=\(c.m) d=\(c.d): \(p) vs scipy \(c.p)")
            }
        }
        // The table must really contain the fallback cases it was built to find.
        #expect(fallbacks >= 50)
        worst.report("two-sample max(n,m) <= 10000")
    }

    @Test func asymptoticTwoSampleMatchesScipy() {
        var worst = WorstErrors()
        for c in golden.asymptotic {
            let p = KolmogorovSmirnov.twoSamplePValue(statistic: c.d, n: c.n, m: c.m)
            worst.record("kstwo-of-effective-n", p, c.p, "n=\(c.n) m=\(c.m) d=\(c.d)")
            #expect(agrees(p, c.p, relative: 1e-3), "n=\(c.n) m=\(c.m) d=\(c.d): \(p) vs scipy \(c.p)")
        }
        worst.report("two-sample max(n,m) > 10000")
    }

    @Test func endToEndSamplesMatchScipy() {
        for c in golden.samples {
            let p = KolmogorovSmirnov.twoSamplePValue(statistic: c.d, n: c.n, m: c.m)
            let tolerance = max(c.n, c.m) <= KolmogorovSmirnov.maximumExactSampleSize ? 1e-6 : 1e-3
            #expect(agrees(p, c.p, relative: tolerance), "n=\(c.n) m=\(c.m) d=\(c.d): \(p) vs ks_2samp \(c.p)")
        }
    }

    @Test func kolmogorovSurvivalMatchesScipyInEveryBranch() {
        var worst = WorstErrors()
        var branches = Set<String>()
        for c in golden.kstwo {
            let p = KolmogorovSmirnov.kolmogorovSurvival(c.d, n: c.n)
            let branch = c.branch ?? "?"
            branches.insert(branch)
            worst.record(branch, p, c.p, "n=\(c.n) d=\(c.d) p=\(p) scipy=\(c.p)")
            #expect(agrees(p, c.p, relative: 1e-3), "\(branch) n=\(c.n) d=\(c.d): \(p) vs scipy \(c.p)")
        }
        // Every branch of scipy's _kolmogn is represented.
        #expect(branches.isSuperset(of: [
            "t<=0.5", "ruben-gambino-low-prod", "ruben-gambino-low-stirling", "ruben-gambino-high",
            "x>=0.5-smirnov", "n<=140-dmtw", "n<=140-pomeranz", "n<=140-smirnov", "nx2>=370",
            "nx2>=2.2-smirnov", "n>140-dmtw", "pelz-good", "x>=1",
        ]))
        worst.report("kstwo.sf")
    }

    @Test func smirnovSurvivalMatchesScipy() {
        var worst = WorstErrors()
        for c in golden.smirnov {
            let p = KolmogorovSmirnov.smirnovSurvival(c.d, n: c.n)
            worst.record(c.n > 1_000_000 ? "n>1e6" : "n<=1e6", p, c.p, "n=\(c.n) d=\(c.d)")
            #expect(agrees(p, c.p, relative: 1e-3), "n=\(c.n) d=\(c.d): \(p) vs scipy \(c.p)")
        }
        worst.report("smirnov")
    }

    // MARK: - Properties and edge cases

    @Test(arguments: [(0, 5), (5, 0), (-3, 7), (Int.min, Int.max)])
    func invalidSampleSizesGiveNoEvidence(n: Int, m: Int) {
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 0.5, n: n, m: m) == 1)
        #expect(KolmogorovSmirnov.exactTwoSamplePValue(statistic: 0.5, n: n, m: m) == nil)
    }

    @Test(arguments: [Double.nan, -Double.infinity, -1, 0])
    func nonPositiveOrNaNStatisticGivesOne(d: Double) {
        for (n, m) in [(1, 1), (10, 10), (7, 20), (20_000, 30_000)] {
            #expect(KolmogorovSmirnov.twoSamplePValue(statistic: d, n: n, m: m) == 1)
        }
        #expect(KolmogorovSmirnov.exactTwoSamplePValue(statistic: d, n: 7, m: 20) == 1)
        #expect(KolmogorovSmirnov.kolmogorovSurvival(d, n: 100) == 1)
        #expect(KolmogorovSmirnov.smirnovSurvival(d, n: 100) == 1)
    }

    @Test func invalidOneSampleSizesGiveOne() {
        #expect(KolmogorovSmirnov.kolmogorovSurvival(0.3, n: 0) == 1)
        #expect(KolmogorovSmirnov.kolmogorovSurvival(0.3, n: -4) == 1)
        #expect(KolmogorovSmirnov.smirnovSurvival(0.3, n: 0) == 1)
    }

    @Test func statisticOfOneAndAbove() {
        let atOne = KolmogorovSmirnov.twoSamplePValue(statistic: 1, n: 7, m: 9)
        // 2 / binom(16, 7): both orderings of the samples are completely separated.
        #expect(abs(atOne - 2.0 / 11440) < 1e-18)
        // Float noise above 1 still rounds onto the lattice point 1.
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 1 + 1e-12, n: 7, m: 9) == atOne)
        // No statistic can exceed 1 (scipy returns 0 too).
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 1.5, n: 7, m: 9) == 0)
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 3, n: 5, m: 5) == 0)
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: .infinity, n: 7, m: 9) == 0)
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 1e300, n: 10_000, m: 9_999) == 0)
        #expect(KolmogorovSmirnov.exactTwoSamplePValue(statistic: 1.5, n: 7, m: 9) == 0)
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 3, n: 20_000, m: 20_000) == 0)
        #expect(KolmogorovSmirnov.kolmogorovSurvival(1, n: 10) == 0)
        #expect(KolmogorovSmirnov.kolmogorovSurvival(.infinity, n: 10) == 0)
        #expect(KolmogorovSmirnov.smirnovSurvival(1, n: 10) == 0)
        #expect(KolmogorovSmirnov.smirnovSurvival(2, n: 10) == 0)
    }

    @Test func hugeSizesDoNotTrap() {
        for (n, m) in [(Int.max, Int.max), (Int.max, 1), (1 << 62, 3)] {
            let p = KolmogorovSmirnov.twoSamplePValue(statistic: 0.01, n: n, m: m)
            #expect((0...1).contains(p))
            #expect(KolmogorovSmirnov.exactTwoSamplePValue(statistic: 0.01, n: n, m: m) == nil)
        }
        for n in [Int.max, 1 << 40, 1 << 31] {
            for d in [1e-30, 1e-12, 1e-6, 0.3, 0.999] {
                #expect((0...1).contains(KolmogorovSmirnov.kolmogorovSurvival(d, n: n)))
                #expect((0...1).contains(KolmogorovSmirnov.smirnovSurvival(d, n: n)))
            }
        }
    }

    /// Small cases checked against exhaustive enumeration of all arrangements.
    @Test(arguments: [(3, 4), (4, 4), (5, 3), (2, 7), (6, 6)])
    func exactMatchesEnumeration(n: Int, m: Int) {
        // Each subset of positions for the first sample is one equally likely arrangement.
        var counts: [Int: Int] = [:]  // h = lcm * D  ->  number of arrangements
        let g = KolmogorovSmirnov.gcd(n, m)
        let lcm = n / g * m
        var total = 0
        for mask in 0..<(1 << (n + m)) where mask.nonzeroBitCount == n {
            var x = 0, y = 0, h = 0
            for bit in 0..<(n + m) {
                if mask & (1 << bit) != 0 { x += 1 } else { y += 1 }
                h = max(h, abs(x * (lcm / n) - y * (lcm / m)))
            }
            counts[h, default: 0] += 1
            total += 1
        }
        for h in counts.keys {
            let atLeast = counts.filter { $0.key >= h }.values.reduce(0, +)
            let expected = Double(atLeast) / Double(total)
            let p = KolmogorovSmirnov.twoSamplePValue(statistic: Double(h) / Double(lcm), n: n, m: m)
            #expect(abs(p - expected) <= 1e-14, "n=\(n) m=\(m) h=\(h): \(p) vs \(expected)")
        }
    }

    @Test func pValueDecreasesWithTheStatistic() {
        for (n, m) in [(40, 40), (40, 55), (500, 20_000), (15_000, 12_000)] {
            var previous = 1.0
            for step in 0...200 {
                let p = KolmogorovSmirnov.twoSamplePValue(statistic: Double(step) / 200, n: n, m: m)
                #expect(p <= previous + 1e-12, "n=\(n) m=\(m) d=\(Double(step) / 200)")
                #expect((0...1).contains(p))
                previous = p
            }
        }
    }

    @Test func offLatticeStatisticRoundsToNearestLatticePoint() {
        // lcm(10, 15) = 30: 0.31 and 0.3 both round to h = 9.
        let onLattice = KolmogorovSmirnov.twoSamplePValue(statistic: 0.3, n: 10, m: 15)
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 0.31, n: 10, m: 15) == onLattice)
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 0.35, n: 10, m: 15) < onLattice)
        #expect(KolmogorovSmirnov.twoSamplePValue(statistic: 0.3, n: 15, m: 10) == onLattice)
    }
}
