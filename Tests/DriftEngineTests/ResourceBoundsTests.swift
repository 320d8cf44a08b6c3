import DriftCore
import DriftEngine
import Foundation
import Testing

/// Hostile streams: a clock in the year 9999, one in 1970, a model id per event.
@Suite struct ResourceBoundsTests {
    func replay(_ lines: [String], yaml: String) throws -> (ReplaySummary, [[String: Any]], [[String: Any]]) {
        let scratch = try ScratchDirectory()
        try (lines.joined(separator: "\n") + "\n").write(toFile: scratch.file("in.ndjson"), atomically: true, encoding: .utf8)
        var reference = ""
        for i in 0..<500 { reference += #"{"ts": 1700000000, "m": "a", "x": \#(i % 50)}"# + "\n" }
        try reference.write(toFile: scratch.file("ref.ndjson"), atomically: true, encoding: .utf8)
        try yaml.write(toFile: scratch.file("c.yaml"), atomically: true, encoding: .utf8)
        var config = try DriftlineConfig(contentsOf: scratch.file("c.yaml"))
        _ = try ProfileBuild.run(config: config, inputs: [scratch.file("ref.ndjson")], output: scratch.file("r.drp"))
        config.reference.profile = scratch.file("r.drp")
        var options = Replay.Options()
        options.resultsPath = scratch.file("out.jsonl")
        options.deadLetterPath = scratch.file("dl.ndjson")
        let summary = try Replay(config: config, profile: try config.loadProfile()).run(inputs: [scratch.file("in.ndjson")], options: options)
        func read(_ path: String) throws -> [[String: Any]] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
        }
        return (summary, try read(options.resultsPath!), try read(options.deadLetterPath!))
    }

    static let yaml = """
        input: {timestamp: ts, model: m, numeric: [x]}
        reference: {profile: r.drp, psi_bins: 4, ks_bins: 20}
        window: {size: 1m, lateness: 10s}
        drift: {min_count: 1}
        """

    @Test func aTimestampInTheYear9999IsRejectedAndTheStreamGoesOn() throws {
        var lines = (0..<120).map { #"{"ts": \#(1_700_000_000 + $0), "m": "a", "x": 1}"# }
        lines.insert(#"{"ts": "9999-12-31T23:59:59Z", "m": "a", "x": 1}"#, at: 30)
        lines.append(#"{"ts": 1, "m": "a", "x": 1}"#)  // 1970: late, not a window of its own
        let (summary, results, dead) = try replay(lines, yaml: Self.yaml)
        #expect(summary.rejectedByReason[.futureTimestamp] == 1)
        #expect(summary.accepted == 121)
        #expect(summary.late == 1)
        // Only the two real minutes have windows: the far future did not move the watermark.
        let starts = Set(results.compactMap { $0["window_start"] as? String })
        #expect(starts == ["2023-11-14T22:13:00.000Z", "2023-11-14T22:14:00.000Z", "2023-11-14T22:15:00.000Z"])
        #expect(dead.map { $0["reason"] as? String } == ["future_timestamp", "late"])
        #expect(dead.first?["position"] as? Int == 31)
    }

    @Test func aModelIdPerEventIsPooledBeyondTheLimit() throws {
        let lines = (0..<5000).map { #"{"ts": \#(1_700_000_000 + $0 / 100), "m": "model-\#($0)", "x": \#($0 % 7)}"# }
        let yaml = Self.yaml.replacingOccurrences(of: "numeric: [x]}", with: "numeric: [x], max_models: 3}")
        let (summary, results, _) = try replay(lines, yaml: yaml)
        #expect(summary.accepted == 5000)
        let models = Set(results.compactMap { $0["model"] as? String })
        #expect(models.contains("__other__"))
        #expect(models.count <= 4)
        // Every event is counted once, under its model or __other__.
        let counted = results.filter { $0["kind"] as? String == "numeric" }.compactMap { $0["count"] as? Int }.reduce(0, +)
        #expect(counted == 5000)
    }

    /// With the limit off the far future is windowed, up to the last window that ends within
    /// the year 9999 (RFC 3339 has four-digit years); an event in the last minute of 9999
    /// would open a window ending in the year 10000 and is rejected as from the future.
    @Test func theFutureLimitCanBeSwitchedOffUpToTheYear9999() throws {
        let lines = [#"{"ts": "9999-12-31T23:58:59.999Z", "m": "a", "x": 1}"#, #"{"ts": "9999-12-31T23:59:00Z", "m": "a", "x": 1}"#]
        let (summary, results, dead) = try replay(lines, yaml: Self.yaml.replacingOccurrences(of: "lateness: 10s}", with: "lateness: 10s, max_future_skew: null}"))
        #expect(summary.accepted == 1)
        #expect(summary.rejectedByReason == [.futureTimestamp: 1])
        #expect(Set(results.compactMap { $0["window_end"] as? String }) == ["9999-12-31T23:59:00.000Z"])
        #expect(dead.map { $0["position"] as? Int } == [2])
    }

    /// A stream that starts in 1970 (and before: year 1 is the earliest accepted) is windowed
    /// like any other; timestamps before the year 1 are invalid.
    @Test func aStreamFrom1970IsWindowedAndYearZeroIsInvalid() throws {
        var lines = (0..<120).map { #"{"ts": \#($0), "m": "a", "x": \#($0 % 5)}"# }
        lines.insert(#"{"ts": "0000-12-31T23:59:59Z", "m": "a", "x": 1}"#, at: 0)
        lines.insert(#"{"ts": "0001-01-01T00:00:00Z", "m": "a", "x": 1}"#, at: 1)
        let (summary, results, dead) = try replay(lines, yaml: Self.yaml)
        #expect(summary.rejectedByReason == [.invalidTimestamp: 1])
        #expect(summary.accepted == 121)
        let counts = results.filter { $0["kind"] as? String == "numeric" }.map { ($0["window_start"] as! String, $0["count"] as! Int) }
        #expect(counts.map(\.0) == ["0001-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "1970-01-01T00:01:00.000Z"])
        #expect(counts.map(\.1) == [1, 60, 60])
        #expect(dead.map { $0["reason"] as? String } == ["invalid_timestamp"])
    }
}
