import DriftCore
import DriftEngine
import DriftKafka
import Foundation
import Testing

/// Hostile streams: a clock in the year 9999, one in 1970, a model id per event, a 100 MiB
/// event, 10 000 features.
@Suite struct ResourceBoundsTests {
    func replay(_ lines: [String], yaml: String) throws -> (ReplaySummary, [[String: Any]], [[String: Any]]) {
        let scratch = try ScratchDirectory()
        try (lines.joined(separator: "\n") + "\n").write(toFile: scratch.file("in.ndjson"), atomically: true, encoding: .utf8)
        return try replay(scratch, input: scratch.file("in.ndjson"), yaml: yaml)
    }

    /// Replays `input` with a profile of `reference` (default: 500 events of model a, x in 0..<50).
    func replay(
        _ scratch: ScratchDirectory, input: String, yaml: String, reference: [String]? = nil
    ) throws -> (ReplaySummary, [[String: Any]], [[String: Any]]) {
        let config = try profiledConfig(scratch, yaml: yaml, reference: reference)
        var options = Replay.Options()
        options.resultsPath = scratch.file("out.jsonl")
        options.deadLetterPath = scratch.file("dl.ndjson")
        let summary = try Replay(config: config, profile: try config.loadProfile()).run(inputs: [input], options: options)
        return (summary, try Self.jsonLines(options.resultsPath!), try Self.jsonLines(options.deadLetterPath!))
    }

    /// The config `yaml` (written as c.yaml in `scratch`) with a profile built from `reference`.
    func profiledConfig(_ scratch: ScratchDirectory, yaml: String, reference: [String]? = nil) throws -> DriftlineConfig {
        let reference = reference ?? (0..<500).map { #"{"ts": 1700000000, "m": "a", "x": \#($0 % 50)}"# }
        try (reference.joined(separator: "\n") + "\n").write(toFile: scratch.file("ref.ndjson"), atomically: true, encoding: .utf8)
        try yaml.write(toFile: scratch.file("c.yaml"), atomically: true, encoding: .utf8)
        var config = try DriftlineConfig(contentsOf: scratch.file("c.yaml"))
        _ = try ProfileBuild.run(config: config, inputs: [scratch.file("ref.ndjson")], output: scratch.file("r.drp"))
        config.reference.profile = scratch.file("r.drp")
        return config
    }

    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
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

    /// 100 normal events, one of `size` bytes (valid JSON: a long string), 100 more.
    static func eventsAround(aHugeOneOf size: Int) -> (before: [UInt8], huge: [UInt8], after: [UInt8]) {
        func lines(_ range: Range<Int>) -> [UInt8] {
            Array(range.map { #"{"ts": \#(1_700_000_000 + $0), "m": "a", "x": \#($0 % 7)}"# + "\n" }.joined().utf8)
        }
        let head = Array(#"{"ts": 1700000100, "m": "a", "x": 3, "blob": ""#.utf8), tail = Array(#""}"#.utf8)
        var huge = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        huge.replaceSubrange(0..<head.count, with: head)
        huge.replaceSubrange(size - tail.count..<size, with: tail)
        return (lines(0..<100), huge, lines(100..<200))
    }

    /// A 100 MiB event is rejected by length without being scanned or kept: the file reader
    /// skips it (its first KiB goes to the dead letter), and the events around it count.
    @Test func aHundredMebibyteEventInAFileIsADeadLetter() throws {
        let scratch = try ScratchDirectory()
        let (before, huge, after) = Self.eventsAround(aHugeOneOf: 100 << 20)
        try Data(try Zstd.compress(before + huge + [0x0A] + after, level: 1)).write(to: URL(fileURLWithPath: scratch.file("in.ndjson.zst")))
        let (summary, results, dead) = try replay(scratch, input: scratch.file("in.ndjson.zst"), yaml: Self.yaml)
        #expect(summary.accepted == 200)
        #expect(summary.rejectedByReason == [.lineTooLong: 1])
        #expect(results.filter { $0["kind"] as? String == "numeric" }.compactMap { $0["count"] as? Int }.reduce(0, +) == 200)
        #expect(dead.count == 1)
        #expect(dead.first?["reason"] as? String == "line_too_long" && dead.first?["position"] as? Int == 101)
        #expect(dead.first?["truncated"] as? Bool == true && (dead.first?["raw"] as? String)?.utf8.count == 1024)
    }

    /// An oversized message through Kafka: the embedded broker keeps at most ~5 MB per
    /// partition and drops a 100 MiB batch as soon as it is appended (with everything before
    /// it), so the Kafka path is tested with 4 MiB, which the decoder refuses by the same
    /// 1 MiB limit: a dead letter, the messages around it count, the run goes on.
    @Test func anOversizedMessageFromKafkaIsADeadLetter() throws {
        let scratch = try ScratchDirectory()
        let broker = try EmbeddedBroker(topics: [("big", 1)])
        defer { broker.stop() }
        let (before, huge, after) = Self.eventsAround(aHugeOneOf: 4 << 20)
        let producer = try KafkaProducer(.init(
            bootstrapServers: broker.bootstrapServers, properties: ["log_level": "0", "message.max.bytes": "10000000"]))
        let messages = (before.split(separator: 0x0A) + [huge[...]] + after.split(separator: 0x0A)).map(Array.init)
        for m in messages { try producer.send(topic: "big", partition: 0, key: nil, value: m) }
        try producer.flush(timeoutMilliseconds: 60_000)
        #expect(producer.delivered == 201)

        let config = try profiledConfig(scratch, yaml: Self.yaml + """

            kafka: {brokers: "\(broker.bootstrapServers)", topics: [big], group: big, properties: {log_level: "0"}}
            checkpoint: {dir: \(scratch.file("state"))}
            """)
        var options = LiveRun.Options()
        options.resultsPath = scratch.file("out.jsonl")
        options.deadLetterPath = scratch.file("dl.ndjson")
        options.untilIdle = .milliseconds(1500)
        let summary = try LiveRun(config: config, profile: try config.loadProfile()).run(options: options)
        #expect(summary.messages == 201)
        #expect(summary.accepted == 200)
        #expect(summary.rejectedByReason == [.lineTooLong: 1])
        let dead = try Self.jsonLines(scratch.file("dl.ndjson"))
        #expect(dead.count == 1)
        #expect(dead.first?["reason"] as? String == "line_too_long" && dead.first?["position"] as? Int == 100)
        #expect(dead.first?["truncated"] as? Bool == true && (dead.first?["raw"] as? String)?.utf8.count == 1024)
        let results = try Self.jsonLines(scratch.file("out.jsonl"))
        #expect(results.filter { $0["kind"] as? String == "numeric" }.compactMap { $0["count"] as? Int }.reduce(0, +) == 200)
    }

    /// The realistic case: events of 10 000 keys (flat and nested) of which the config reads
    /// one; the rest is validated and skipped.
    @Test func tenThousandKeysInAnEventOfWhichOneIsConfigured() throws {
        let scratch = try ScratchDirectory()
        let filler = (0..<5_000).map { #""k\#($0)": \#($0).5"# }.joined(separator: ", ")
        let nested = (0..<5_000).map { #""n\#($0)": "v""# }.joined(separator: ", ")
        let lines = (0..<60).map { #"{"ts": \#(1_700_000_040 + $0 / 10), "m": "a", \#(filler), "x": \#($0 % 5), "deep": {\#(nested)}}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: scratch.file("in.ndjson"), atomically: true, encoding: .utf8)
        let (summary, results, _) = try replay(scratch, input: scratch.file("in.ndjson"), yaml: Self.yaml)
        #expect(summary.accepted == 60 && summary.rejected == 0)
        let x = try #require(results.first { $0["feature"] as? String == "x" })
        #expect(x["count"] as? Int == 60)
        #expect(x["mean"] as? Double == 2)
    }

    /// 10 000 configured features, written in the reverse of the config's order (so the
    /// decoder cannot rely on its next-key hint): a profile, windows and a result record
    /// for each.
    @Test func tenThousandConfiguredFeatures() throws {
        let scratch = try ScratchDirectory()
        let features = (0..<10_000).map { "f\($0)" }
        func event(_ ts: Int, _ seed: Int) -> String {
            "{\"ts\": \(ts), " + features.indices.reversed().map { "\"f\($0)\": \(($0 + seed) % 13)" }.joined(separator: ", ") + "}"
        }
        let yaml = """
            input: {timestamp: ts, numeric: [\(features.joined(separator: ", "))]}
            reference: {profile: r.drp, psi_bins: 4, ks_bins: 10}
            window: {size: 1m, lateness: 10s}
            drift: {min_count: 1}
            """
        let reference = (0..<30).map { event(1_700_000_000, $0) }
        let lines = (0..<20).map { event(1_700_000_000 + $0, $0 * 7) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: scratch.file("in.ndjson"), atomically: true, encoding: .utf8)
        let (summary, results, _) = try replay(scratch, input: scratch.file("in.ndjson"), yaml: yaml, reference: reference)
        #expect(summary.accepted == 20)
        let numeric = results.filter { $0["kind"] as? String == "numeric" }
        #expect(numeric.count == 10_000)
        #expect(Set(numeric.compactMap { $0["feature"] as? String }).count == 10_000)
        #expect(numeric.allSatisfy { $0["count"] as? Int == 20 })
    }
}
