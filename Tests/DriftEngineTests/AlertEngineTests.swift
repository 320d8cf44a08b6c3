import DriftStats
import Foundation
import Testing

@testable import DriftCore
@testable import DriftEngine

@Suite struct AlertEngineTests {
    static let minute: Int64 = 60_000_000

    /// A closed window of model `m` whose numeric features have these PSI values and p-values.
    func window(_ k: Int64, psi: [String: Double], pValues: [String: Double] = [:], count: Int = 1000, model: String = "m") -> ClosedWindow {
        let empty = NumericSummary(psiEdges: BinEdges([1]), fineEdges: BinEdges([1]))
        let results = psi.keys.sorted().map { feature -> FeatureResult in
            var m = NumericDriftMetrics(reference: empty, window: empty)
            m.count = count
            m.psi = psi[feature]
            m.ksPValue = pValues[feature]
            return FeatureResult(feature: feature, metrics: .numeric(m), drift: (psi[feature] ?? 0) >= 0.2)
        }
        return ClosedWindow(
            model: model, start: k * 5 * Self.minute, end: (k + 1) * 5 * Self.minute, events: count, results: results,
            numeric: [], categorical: [])
    }

    func rule(_ name: String = "r", metric: String = "psi", op: String = ">=", threshold: Double = 0.2, for n: Int = 1, resolveAfter: Int = 1) -> AlertSettings.Rule {
        var r = AlertSettings.Rule(name: name, metric: metric, op: op, threshold: threshold)
        r.forWindows = n
        r.resolveAfter = resolveAfter
        return r
    }

    @Test func aHoveringMetricFiresOnceAndResolvesOnceWithHysteresis() throws {
        var engine = try AlertEngine(rules: [rule(for: 2, resolveAfter: 2)], minCount: 100)
        // Hovers around the threshold: 0.21 0.19 0.21 0.22 0.19 0.23 0.18 0.17 0.25
        let values = [0.21, 0.19, 0.21, 0.22, 0.19, 0.23, 0.18, 0.17, 0.25]
        var changes: [(Int, AlertEvent.State)] = []
        for (k, v) in values.enumerated() {
            for e in engine.evaluate(window(Int64(k), psi: ["x": v]), counts: PipelineCounts()) {
                changes.append((k, e.state))
            }
        }
        // Fires at the second breach in a row (k = 3), survives the single clean window at
        // k = 4, resolves after two clean ones (k = 7).
        #expect(changes.map(\.0) == [3, 7])
        #expect(changes.map(\.1) == [.firing, .resolved])
    }

    @Test func firingEventsCarryAStableFingerprintAndDeterministicIds() throws {
        var engine = try AlertEngine(rules: [rule()], minCount: 100)
        let fired = engine.evaluate(window(0, psi: ["x": 0.5, "y": 0.1]), counts: PipelineCounts())
        #expect(fired.count == 1)
        let resolved = engine.evaluate(window(1, psi: ["x": 0.1, "y": 0.1]), counts: PipelineCounts())
        #expect(resolved.count == 1)
        #expect(fired[0].fingerprint == resolved[0].fingerprint)
        #expect(fired[0].id != resolved[0].id)
        #expect(resolved[0].startsAt == 0 && resolved[0].endsAt == 10 * Self.minute)
        #expect(fired[0].labels["alertname"] == "r" && fired[0].labels["feature"] == "x" && fired[0].labels["model"] == "m")
        #expect(fired[0].jsonLine.hasPrefix(#"{"id":"\#(fired[0].fingerprint)/firing/1970-01-01T00:05:00.000Z","#))
    }

    @Test func smallWindowsAndMissingMetricsChangeNothing() throws {
        var engine = try AlertEngine(rules: [rule()], minCount: 100)
        #expect(engine.evaluate(window(0, psi: ["x": 0.9], count: 99), counts: PipelineCounts()).isEmpty)
        #expect(engine.evaluate(window(1, psi: ["x": 0.9]), counts: PipelineCounts()).count == 1)
        // Still firing through a window without data.
        #expect(engine.evaluate(window(2, psi: [:]), counts: PipelineCounts()).isEmpty)
        #expect(engine.firing == 1)
    }

    @Test func benjaminiHochbergMatchesScipy() {
        // scipy.stats.false_discovery_control([...]) (method="bh")
        #expect(BenjaminiHochberg.adjust([0.01, 0.04, 0.03, 0.005]).map { $0! } == [0.02, 0.04, 0.04, 0.02])
        let q = BenjaminiHochberg.adjust([0.2, 0.001, nil, 0.5, 0.049, 0.0125, 0.9])
        let expected: [Double?] = [0.3, 0.006, nil, 0.6, 0.098, 0.0375, 0.9]
        for (a, b) in zip(q, expected) {
            #expect((a == nil) == (b == nil))
            if let a, let b { #expect(abs(a - b) < 1e-12) }
        }
    }

    @Test func correctedPValueRulesFireOnlyWhereTheAdjustedValueIsBelow() throws {
        var r = rule(metric: "ks_pvalue", op: "<", threshold: 0.05)
        r.correction = .benjaminiHochberg
        var engine = try AlertEngine(rules: [r], minCount: 100)
        var plain = try AlertEngine(rules: [rule(metric: "ks_pvalue", op: "<", threshold: 0.05)], minCount: 100)
        let p = ["a": 0.2, "b": 0.001, "c": 0.5, "d": 0.049, "e": 0.0125, "f": 0.9]
        let w = window(0, psi: p.mapValues { _ in 0 }, pValues: p)
        // Uncorrected: b, d, e; corrected q-values 0.006, 0.098, 0.0375: b and e.
        #expect(plain.evaluate(w, counts: PipelineCounts()).map(\.feature) == ["b", "d", "e"])
        #expect(engine.evaluate(w, counts: PipelineCounts()).map(\.feature) == ["b", "e"])
    }

    @Test func globsSelectFeaturesAndModels() throws {
        #expect(Glob.matches("features.*", "features.amount"))
        #expect(!Glob.matches("features.*", "prediction.score"))
        #expect(Glob.matches("*", ""))
        #expect(Glob.matches("f?o*b", "fxo--b"))
        #expect(!Glob.matches("f?o*b", "fo--b"))
        var r = rule()
        r.features = ["a*"]
        r.models = ["prod-*"]
        var engine = try AlertEngine(rules: [r], minCount: 1)
        #expect(engine.evaluate(window(0, psi: ["ab": 1, "b": 1], model: "prod-1"), counts: PipelineCounts()).map(\.feature) == ["ab"])
        #expect(engine.evaluate(window(0, psi: ["ab": 1], model: "staging"), counts: PipelineCounts()).isEmpty)
    }

    @Test func rateRulesLookAtTheMessagesSinceThePreviousWindow() throws {
        var engine = try AlertEngine(rules: [rule(metric: "late_rate", op: ">", threshold: 0.1)], minCount: 1)
        #expect(engine.evaluate(window(0, psi: [:]), counts: PipelineCounts(messages: 1000, late: 50)).isEmpty)
        // 200 of the next 1000 were late.
        let fired = engine.evaluate(window(1, psi: [:]), counts: PipelineCounts(messages: 2000, late: 250))
        #expect(fired.map(\.value) == [0.2])
    }

    @Test func restoredStateContinuesLikeAnUninterruptedEngine() throws {
        let rules = [rule(for: 2, resolveAfter: 3), rule("share", metric: "drift_share", threshold: 0.5)]
        let windows = (0..<12).map { k in window(Int64(k), psi: ["x": k % 5 < 3 ? 0.3 : 0.1, "y": k > 6 ? 0.4 : 0.0]) }
        var straight = try AlertEngine(rules: rules, minCount: 100)
        let expected = windows.flatMap { straight.evaluate($0, counts: PipelineCounts()) }
        #expect(!expected.isEmpty)
        var first = try AlertEngine(rules: rules, minCount: 100)
        var got = windows.prefix(5).flatMap { first.evaluate($0, counts: PipelineCounts()) }
        var w = ByteWriter()
        first.encode(to: &w)
        var second = try AlertEngine(rules: rules, minCount: 100)
        var r = ByteReader(w.bytes)
        try second.restore(from: &r)
        got += windows.dropFirst(5).flatMap { second.evaluate($0, counts: PipelineCounts()) }
        #expect(got == expected)
    }

    @Test func configErrorsNameTheRule() throws {
        let error = try #require(throws: ConfigError.self) { _ = try AlertEngine(rules: [rule("mine", metric: "pis")], minCount: 1) }
        #expect(error.message.contains("mine") && error.message.contains("pis"))
        var r = rule("bh", metric: "psi")
        r.correction = .benjaminiHochberg
        #expect(throws: ConfigError.self) { _ = try AlertEngine(rules: [r], minCount: 1) }
    }

    @Test func summaryTemplatesFillNamedFields() {
        let e = AlertEvent(
            state: .firing, rule: "r", severity: "critical", model: "m", feature: "f", metric: "psi", value: 0.123456, op: ">=",
            threshold: 0.2, windowStart: 0, windowEnd: 300_000_000, startsAt: 0, endsAt: nil, fingerprint: "ff",
            labels: ["team": "risk"], summary: "")
        #expect(AlertEngine.render("{{feature}} of {{ model }}: {{metric}}={{value}} [{{team}}] {{unknown}}", e)
            == "f of m: psi=0.1235 [risk] {{unknown}}")
    }
}

@Suite struct LogFormatTests {
    @Test func humanLinesAreOneLineAndJSONLinesParse() throws {
        let human = DriftlineLogHandler.line(
            format: .human, label: "driftline.run", level: .warning, message: "kafka: broker down\nretrying",
            metadata: ["partition": "t/1"], now: 0)
        #expect(human == "1970-01-01T00:00:00.000Z WARNING kafka: broker down; retrying partition=t/1")
        let json = DriftlineLogHandler.line(
            format: .json, label: "driftline.run", level: .info, message: "assigned \"t/0\"", metadata: ["n": "4"], now: 1_000)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        #expect(object == ["ts": "1970-01-01T00:00:00.001Z", "level": "info", "logger": "driftline.run", "message": "assigned \"t/0\"", "n": "4"])
    }
}
