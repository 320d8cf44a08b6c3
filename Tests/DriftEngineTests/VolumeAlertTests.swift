import DriftCore
import DriftEngine
import Foundation
import Logging
import Synchronization
import Testing

/// Log messages kept in memory, to check what a run reports.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    var messages: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.lines.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}

/// A reference of one event a second for an hour (300 per 5-minute window), profiled with
/// `driftline profile`'s code, a stream whose volume halves for two windows, and rules on the
/// volume ratio that write to a file.
struct VolumeScenario {
    /// 2025-11-24T16:00:00Z, on a 5-minute boundary.
    static let start: Int64 = 1_764_000_000

    /// One event every `every` seconds from `from` (s) to before `to` (s).
    static func lines(from: Int64, to: Int64, every: Int64) -> [String] {
        stride(from: from, to: to, by: Int(every)).map { t in #"{"ts":\#(t),"x":\#(t % 17)}"# }
    }

    let scratch: ScratchDirectory
    let configPath: String

    init() throws {
        scratch = try ScratchDirectory()
        let reference = Self.lines(from: Self.start - 7200, to: Self.start - 3600 + 1, every: 1)
        try (reference.joined(separator: "\n") + "\n").write(toFile: scratch.file("reference.ndjson"), atomically: true, encoding: .utf8)
        configPath = scratch.file("volume.yaml")
        try """
            input:
              timestamp: ts
              numeric: [x]
            reference:
              profile: reference.drp
            window:
              size: 5m
              lateness: 0s
            alerts:
              rules:
                - name: traffic-drop
                  metric: volume_ratio
                  op: "<"
                  threshold: 0.75
                  severity: critical
                  summary: "{{model}} gets {{value}} of its reference volume"
                - name: traffic-surge
                  metric: volume_ratio
                  op: ">"
                  threshold: 1.5
              sinks:
                - file: alerts.jsonl

            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try DriftlineConfig(contentsOf: configPath)
        _ = try ProfileBuild.run(config: config, inputs: [scratch.file("reference.ndjson")], output: scratch.file("reference.drp"))
    }

    /// Eight 5-minute windows: full rate, then windows 3 and 4 at half the rate, then full again.
    func writeStream() throws -> String {
        var lines: [String] = []
        for k in Int64(0)..<8 {
            let from = Self.start + k * 300
            lines += Self.lines(from: from, to: from + 300, every: k == 3 || k == 4 ? 2 : 1)
        }
        let path = scratch.file("stream.ndjson")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Rewrites the profile as one written before format 1.1 loads: without event times.
    func dropEventTimes() throws {
        var old = try ReferenceProfile(fileBytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("reference.drp")))))
        old.pooled.eventTimes = nil
        for name in old.models.keys { old.models[name]!.eventTimes = nil }
        try Data(try old.fileBytes()).write(to: URL(fileURLWithPath: scratch.file("reference.drp")))
    }
}

/// `volume_ratio`: a window's events against what the reference's rate gives for a window,
/// through a real replay (profile file, NDJSON stream, alert rules from YAML, file sink).
@Suite struct VolumeAlertTests {
    let scenario: VolumeScenario
    var scratch: ScratchDirectory { scenario.scratch }

    init() throws {
        scenario = try VolumeScenario()
    }

    func replay(log: LogCapture) throws -> (windows: [ClosedWindow], alerts: [[String: Any]]) {
        let config = try DriftlineConfig(contentsOf: scenario.configPath)
        var options = Replay.Options()
        var windows: [ClosedWindow] = []
        options.onWindow = { windows.append($0) }
        options.alerts = try config.makeAlerting(print: { _ in }, logger: log.logger)
        _ = try Replay(config: config, profile: try config.loadProfile()).run(inputs: [try scenario.writeStream()], options: options)
        let text = (try? String(contentsOfFile: scratch.file("alerts.jsonl"), encoding: .utf8)) ?? ""
        let alerts = try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        return (windows, alerts)
    }

    @Test func aRuleOnTheVolumeRatioFiresWhileVolumeIsHalfTheReferenceRate() throws {
        let log = LogCapture()
        let (windows, alerts) = try replay(log: log)
        #expect(windows.map(\.events) == [300, 300, 300, 150, 150, 300, 300, 300])
        #expect(windows.allSatisfy { $0.expectedEvents == 300 })
        #expect(windows.map(\.volumeRatio) == [1, 1, 1, 0.5, 0.5, 1, 1, 1])
        // Fires with the first half-rate window, resolves with the first full one; the surge
        // rule never fires.
        #expect(alerts.map { $0["rule"] as? String } == ["traffic-drop", "traffic-drop"])
        #expect(alerts.map { $0["state"] as? String } == ["firing", "resolved"])
        #expect(alerts.map { $0["window_start"] as? String } == ["2025-11-24T16:15:00.000Z", "2025-11-24T16:25:00.000Z"])
        #expect(alerts.first?["value"] as? Double == 0.5)
        #expect(alerts.first?["metric"] as? String == "volume_ratio")
        #expect(alerts.first?["summary"] as? String == "default gets 0.5 of its reference volume")
        #expect(log.messages.isEmpty)
    }

    @Test func withAProfileWithoutEventTimesTheRulesAreSkippedWithOneWarningEach() throws {
        try scenario.dropEventTimes()
        let log = LogCapture()
        let (windows, alerts) = try replay(log: log)
        #expect(windows.count == 8)
        #expect(windows.allSatisfy { $0.expectedEvents == nil })
        #expect(alerts.isEmpty)
        let warnings = log.messages
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.hasPrefix("warning: ") && $0.contains("volume_ratio") && $0.contains("driftline profile") })
        #expect(warnings.contains { $0.contains("`traffic-drop`") } && warnings.contains { $0.contains("`traffic-surge`") })
    }
}
