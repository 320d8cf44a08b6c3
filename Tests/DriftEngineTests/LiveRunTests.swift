import DriftCore
import DriftEngine
import DriftKafka
import Foundation
import Logging
import Synchronization
import Testing

/// A topic on the embedded broker filled with the Fixtures traffic, and a config for it.
/// Immutable after `init`, so tests may share it across threads.
final class LiveTopic: @unchecked Sendable {
    let scratch: ScratchDirectory
    let broker: EmbeddedBroker
    let topic = "predictions"
    let partitions: Int
    let lines: [[UInt8]]

    /// With `produce`, produces every line of the Fixtures stream (``produce(_:)``), or the
    /// lines of `slice`.
    init(partitions: Int = 4, brokers: Int = 1, produce: Bool = true, slice: Range<Int>? = nil) throws {
        self.partitions = partitions
        scratch = try ScratchDirectory()
        broker = try EmbeddedBroker(brokers: brokers, topics: [(name: "predictions", partitions: partitions)])
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixture.path("traffic/stream.ndjson.zst"))))
        let text = try Zstd.decompress(compressed)
        let all = text.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        lines = all[slice.map { all.startIndex + $0.lowerBound..<all.startIndex + $0.upperBound } ?? all.indices].map(Array.init)
        if produce { try self.produce(0..<lines.count) }
        _ = try ProfileBuild.run(
            config: try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml")),
            inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: scratch.file("reference.drp"))
    }

    deinit { broker.stop() }

    /// Produces lines `range` with the real (idempotent, so never reordered or doubled)
    /// producer, line i to partition i % partitions, and waits for every delivery.
    func produce(_ range: Range<Int>) throws {
        let producer = try KafkaProducer(.init(
            bootstrapServers: broker.bootstrapServers, properties: ["log_level": "0", "enable.idempotence": "true"]))
        for i in range {
            try producer.send(topic: topic, partition: Int32(i % partitions), key: Array("k\(i)".utf8), value: lines[i])
        }
        try producer.flush(timeoutMilliseconds: 60_000)
        #expect(producer.delivered == range.count)
    }

    /// A config for group `group` checkpointing into `state`.
    /// - Parameter assignment: `partition.assignment.strategy` (librdkafka's default when `nil`).
    func config(group: String, state: String, interval: String = "100ms", assignment: String? = nil) throws -> String {
        var text = try String(contentsOfFile: Fixture.path("fraud.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "profile: traffic/reference.drp", with: "profile: \(scratch.file("reference.drp"))")
        text = text.replacingOccurrences(of: "    - stdout: true", with: "    - file: \(scratch.file("\(group)-alerts.jsonl"))")
        text += """
            kafka:
              brokers: \(broker.bootstrapServers)
              topics: [\(topic)]
              group: \(group)
              properties:
                session.timeout.ms: "3000"
                heartbeat.interval.ms: "300"
                log_level: "0"\(assignment.map { "\n    partition.assignment.strategy: \($0)" } ?? "")
            checkpoint:
              dir: \(scratch.file(state))
              interval: \(interval)

            """
        let path = scratch.file("\(group).yaml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs the pipeline in this process as group `group` until idle, writing `results`.
    func run(
        group: String, results: String, untilIdle: Duration = .milliseconds(1500), properties: [String: String] = [:]
    ) throws -> LiveSummary {
        let config = try DriftlineConfig(contentsOf: try config(group: group, state: "state-\(group)"))
        var options = LiveRun.Options()
        options.resultsPath = results
        options.untilIdle = untilIdle
        options.extraProperties = properties
        options.alerts = try config.makeAlerting { _ in }
        return try LiveRun(config: config, profile: try config.loadProfile()).run(options: options)
    }
}

@Suite struct LiveRunTests {
    @Test func aLiveRunCountsEveryMessageAndCommitsWhatItCheckpointed() throws {
        let topic = try LiveTopic()
        let results = topic.scratch.file("live.jsonl")
        let summary = try topic.run(group: "g", results: results, properties: ["statistics.interval.ms": "200"])
        #expect(summary.messages == Int64(topic.lines.count))
        // librdkafka's statistics: every partition caught up.
        #expect(summary.lag.count == topic.partitions)
        #expect(summary.totalLag == 0)
        #expect(summary.accepted + summary.rejected == summary.messages)
        // The fixture has one bad line of each of five kinds.
        #expect(summary.rejected == 5)
        #expect(summary.windowsClosed == 26)
        #expect(summary.checkpoints >= 1)
        let lines = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == summary.resultRecords)
        // Offsets committed = the end of every partition.
        let consumer = try KafkaConsumer(.init(
            bootstrapServers: topic.broker.bootstrapServers, groupID: "g", topics: [], properties: ["log_level": "0"]))
        let partitions = (0..<topic.partitions).map { TopicPartition(topic.topic, Int32($0)) }
        let committed = try consumer.committed(partitions)
        for p in partitions {
            #expect(committed[p] == Int64(topic.lines.count / topic.partitions), "\(p)")
        }

        // A second run over the same group resumes from the checkpoint: nothing new to read,
        // the results stay as they are.
        let before = try Data(contentsOf: URL(fileURLWithPath: results))
        let again = try topic.run(group: "g", results: results, untilIdle: .milliseconds(500))
        #expect(again.restoredFrom != nil)
        #expect(again.messages == summary.messages)
        #expect(try Data(contentsOf: URL(fileURLWithPath: results)) == before)
    }

    @Test func sigtermWritesAFinalCheckpointAndExitsZero() throws {
        let topic = try LiveTopic()
        let baseline = topic.scratch.file("baseline.jsonl")
        _ = try topic.run(group: "baseline", results: baseline)
        let config = try topic.config(group: "term", state: "state-term", interval: "10m")
        let results = topic.scratch.file("term.jsonl")
        // Without --until-idle only the signal ends the first run.
        let first = try DriftlineChild(["run", "--config", config, "--results", results])
        // Wait until it is consuming (results appear), then ask it to stop.
        first.wait(upTo: 30) { ((try? FileManager.default.attributesOfItem(atPath: results)[.size] as? Int) ?? 0) > 0 }
        kill(first.pid, SIGTERM)
        let stopped = first.wait(upTo: 30) { !first.process.isRunning }
        if !stopped { kill(first.pid, SIGKILL) }
        first.wait()
        #expect(stopped, "SIGTERM ends the run")
        #expect(first.process.terminationReason == .exit)
        #expect(first.process.terminationStatus == 0)
        // The interval is 10 minutes: the checkpoint that exists was written on the way out.
        let store = try CheckpointStore(directory: topic.scratch.file("state-term"))
        #expect(store.files().count == 1)
        let second = try DriftlineChild(["run", "--config", config, "--results", results, "--until-idle", "1500ms"])
        second.wait()
        #expect(second.process.terminationStatus == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: results)) == Data(contentsOf: URL(fileURLWithPath: baseline)))
    }

    @Test func theDemoRunsEndToEndAndFindsTheInjectedDrift() throws {
        let scratch = try ScratchDirectory()
        var windows: [ClosedWindow] = []
        let outcome = try Demo.run(
            fixtures: Fixture.root.path, directory: scratch.file("demo"), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), onWindow: { windows.append($0) })
        #expect(outcome.produced == 24_008)
        #expect(outcome.summary.messages == 24_008)
        #expect(outcome.summary.rejected == 5)
        #expect(outcome.summary.checkpoints >= 1)
        let alerts = try String(contentsOfFile: outcome.alertsPath, encoding: .utf8).split(separator: "\n")
        #expect(alerts.count == outcome.alertChanges)
        #expect(alerts.contains { $0.contains(#""rule":"model-drift""#) && $0.contains(#""state":"firing""#) })
        // The traffic drifts halfway: the first half of the windows is clean, the second is not.
        let full = windows.filter { $0.events >= 100 }
        #expect(full.count == 24)
        #expect(full.prefix(12).allSatisfy { !$0.results.contains(where: \.drift) })
        #expect(full.suffix(12).allSatisfy { $0.results.filter(\.drift).count >= 4 })
        let records = try String(contentsOfFile: outcome.resultsPath, encoding: .utf8).split(separator: "\n")
        #expect(records.count == outcome.summary.resultRecords)
        #expect(!(try CheckpointStore(directory: outcome.checkpointDirectory).files().isEmpty))
    }
}
