import DriftCore
import DriftEngine
import Testing

@Suite struct ConfigTests {
    static let minimal = """
        input:
          timestamp: ts
          numeric: [features.amount, prediction]
          categorical: [features.country]
        reference:
          profile: reference.drp
        """

    @Test func readsTheDesignExampleAndDefaults() throws {
        let c = try DriftlineConfig(yaml: """
            input:
              timestamp: ts
              model: model
              numeric: [features.amount, prediction]
              categorical: [features.country]
            reference:
              profile: reference.drp
              psi_bins: 10
              ks_bins: 1000
            window:
              size: 5m
              slide: 5m
              lateness: 30s
            drift:
              psi: 0.2
              ks_pvalue: null
              min_count: 100
            kafka:
              brokers: 127.0.0.1:9092
              topics: [predictions]
              group: driftline
              properties: {}
            checkpoint:
              dir: state/
              interval: 5s
            alerts:
              rules:
                - name: feature-psi
                  metric: psi
                  op: ">="
                  threshold: 0.2
                  features: ["*"]
                  for: 1
                  resolve_after: 1
                  severity: warning
              sinks:
                - webhook: http://127.0.0.1:9093/api/v2/alerts
                - file: alerts.jsonl
                - kafka: driftline-alerts
            """)
        #expect(c.input == EventSchema(timestamp: "ts", model: "model", numeric: ["features.amount", "prediction"], categorical: ["features.country"]))
        #expect(c.window.sizeMicroseconds == 300_000_000 && c.window.slideMicroseconds == 300_000_000)
        #expect(c.window.latenessMicroseconds == 30_000_000)
        #expect(c.drift.psi == 0.2 && c.drift.ksPValue == nil && c.drift.minCount == 100)
        #expect(c.kafka.topics == ["predictions"])
        #expect(c.checkpoint.intervalMicroseconds == 5_000_000)
        #expect(c.alerts.rules.first?.name == "feature-psi")
        #expect(c.alerts.sinks == [.webhook("http://127.0.0.1:9093/api/v2/alerts"), .file("alerts.jsonl"), .kafka("driftline-alerts")])
        let d = try DriftlineConfig(yaml: ConfigTests.minimal)
        #expect(d.reference.psiBins == 10 && d.reference.ksBins == 1000 && d.drift.psi == 0.2)
    }

    @Test(arguments: [
        ("input:\n  timestamp: ts\n  numeric: [a]\n  numerics: [b]\n", "unknown key `input.numerics` (line 4)"),
        (minimal + "\nwindow:\n  sise: 5m\n", "unknown key `window.sise`"),
        (minimal + "\ndrift:\n  psi: high\n", "`drift.psi` must be a number"),
        (minimal + "\nwindow:\n  size: 5 minutes\n", "`window.size` must be a duration"),
        (minimal + "\nwindow:\n  size: 5m\n  slide: 10m\n", "`window.slide` is longer than `window.size`"),
        ("input:\n  numeric: [a]\n", "`input.timestamp` is required"),
        ("input:\n  timestamp: ts\n", "lists no feature"),
        ("input:\n  timestamp: ts\n  numeric: [a, a]\n", "\"a\" is listed twice"),
        (minimal + "\nreference:\n  psi_bins: 1\n", "duplicated key(s): 'reference'"),
        ("input: [1, 2]\n", "`input` must be a mapping"),
        ("{{{", "not valid YAML"),
    ])
    func rejectsBadConfigsWithTheKeyName(yaml: String, expected: String) {
        #expect {
            _ = try DriftlineConfig(yaml: yaml)
        } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    @Test(arguments: [("250ms", Int64(250_000)), ("30s", 30_000_000), ("5m", 300_000_000), ("1h", 3_600_000_000), ("7d", 604_800_000_000)])
    func durations(text: String, microseconds: Int64) {
        #expect(DurationText.microseconds(text) == microseconds)
    }

    @Test(arguments: ["", "5", "m", "-5m", "5.5m", "5 m s", "99999999999999999999d"])
    func invalidDurations(text: String) {
        #expect(DurationText.microseconds(text) == nil)
    }
}
