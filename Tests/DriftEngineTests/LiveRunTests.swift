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

    /// With `produce`, produces every line of the Fixtures stream (``produce(_:)``).
    init(partitions: Int = 4, brokers: Int = 1, produce: Bool = true) throws {
        self.partitions = partitions
        scratch = try ScratchDirectory()
        broker = try EmbeddedBroker(brokers: brokers, topics: [(name: "predictions", partitions: partitions)])
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixture.path("traffic/stream.ndjson.zst"))))
        let text = try Zstd.decompress(compressed)
        lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map(Array.init)
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
}

/// The `driftline` executable built next to the test bundle.
enum DriftlineBinary {
    static var path: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("driftline").path
    }

    /// - Parameter log: A file for the process's standard error (discarded when `nil`).
    static func spawn(_ arguments: [String], log: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }

    /// Runs `driftline` to its end and returns its exit status, standard output and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both to the end before waiting, so a full pipe cannot stall the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var stdout = Data()
        DispatchQueue.global().async(group: group) { stdout = out.fileHandleForReading.readDataToEndOfFile() }
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

@Suite struct LiveRunTests {
    func liveRun(
        _ topic: LiveTopic, group: String, results: String, untilIdle: Duration = .milliseconds(1500),
        properties: [String: String] = [:]
    ) throws -> LiveSummary {
        let config = try DriftlineConfig(contentsOf: try topic.config(group: group, state: "state-\(group)"))
        var options = LiveRun.Options()
        options.resultsPath = results
        options.untilIdle = untilIdle
        options.extraProperties = properties
        options.alerts = try config.makeAlerting { _ in }
        return try LiveRun(config: config, profile: try config.loadProfile()).run(options: options)
    }

    @Test func aLiveRunCountsEveryMessageAndCommitsWhatItCheckpointed() throws {
        let topic = try LiveTopic()
        let results = topic.scratch.file("live.jsonl")
        let summary = try liveRun(topic, group: "g", results: results, properties: ["statistics.interval.ms": "200"])
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
        let again = try liveRun(topic, group: "g", results: results, untilIdle: .milliseconds(500))
        #expect(again.restoredFrom != nil)
        #expect(again.messages == summary.messages)
        #expect(try Data(contentsOf: URL(fileURLWithPath: results)) == before)
    }

    /// SIGKILL at several moments, restart until the run ends by itself: the results file is
    /// byte-identical to an uninterrupted run's.
    @Test func killedAndRestartedRunsWriteTheSameResults() throws {
        let topic = try LiveTopic()
        let baseline = topic.scratch.file("baseline.jsonl")
        _ = try liveRun(topic, group: "baseline", results: baseline)
        let expected = try Data(contentsOf: URL(fileURLWithPath: baseline))
        #expect(!expected.isEmpty)
        #expect(!(try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("baseline-alerts.jsonl")))).isEmpty)

        // Kill points: right after the first checkpoint appears, and some time into consuming.
        // The scenarios run side by side (each in its own group) to keep the suite short.
        let delays = [0, 120, 400]
        let outcomes = Mutex<[Int: String]>([:])
        DispatchQueue.concurrentPerform(iterations: delays.count) { n in
            let outcome: String
            do {
                outcome = try killAndRestart(topic, group: "killed\(n)", delayMilliseconds: delays[n], expected: expected)
            } catch {
                outcome = "\(error)"
            }
            outcomes.withLock { $0[n] = outcome }
        }
        for n in delays.indices {
            #expect(outcomes.withLock { $0[n] } == "identical", "kill \(delays[n]) ms after the first checkpoint")
        }
    }

    /// Runs `driftline run`, SIGKILLs it `delayMilliseconds` after its first checkpoint, runs it
    /// again to the end and compares the results file with `expected`.
    func killAndRestart(_ topic: LiveTopic, group: String, delayMilliseconds: Int, expected: Data) throws -> String {
        let config = try topic.config(group: group, state: "state-\(group)", interval: "50ms")
        let results = topic.scratch.file("\(group).jsonl")
        let arguments = ["run", "--config", config, "--results", results, "--until-idle", "1500ms"]
        let state = topic.scratch.file("state-\(group)")
        let first = try DriftlineBinary.spawn(arguments)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !FileManager.default.fileExists(atPath: state + "/checkpoint-000000000001.drc") {
            usleep(5_000)
        }
        usleep(useconds_t(delayMilliseconds * 1000))
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        guard first.terminationReason == .uncaughtSignal else { return "the first run ended before it was killed" }
        // The kill must interrupt real work: some results written, not all.
        let atKill = (try? FileManager.default.attributesOfItem(atPath: results)[.size] as? Int) ?? 0
        guard atKill < expected.count else { return "the first run had finished its work when it was killed" }
        let second = try DriftlineBinary.spawn(arguments)
        second.waitUntilExit()
        guard second.terminationStatus == 0 else { return "the restart exited with \(second.terminationStatus)" }
        let got = try Data(contentsOf: URL(fileURLWithPath: results))
        guard got == expected else { return "results differ: \(got.count) vs \(expected.count) bytes" }
        let alerts = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("\(group)-alerts.jsonl")))
        let expectedAlerts = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("baseline-alerts.jsonl")))
        return alerts == expectedAlerts ? "identical" : "alerts differ: \(alerts.count) vs \(expectedAlerts.count) bytes"
    }

    @Test func sigtermWritesAFinalCheckpointAndExitsZero() throws {
        let topic = try LiveTopic()
        let baseline = topic.scratch.file("baseline.jsonl")
        _ = try liveRun(topic, group: "baseline", results: baseline)
        let config = try topic.config(group: "term", state: "state-term", interval: "10m")
        let results = topic.scratch.file("term.jsonl")
        let arguments = ["run", "--config", config, "--results", results, "--until-idle", "1500ms"]
        let first = try DriftlineBinary.spawn(arguments)
        // Wait until it is consuming (results appear), then ask it to stop.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && ((try? FileManager.default.attributesOfItem(atPath: results)[.size] as? Int) ?? 0) == 0 {
            usleep(5_000)
        }
        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
        #expect(first.terminationReason == .exit)
        #expect(first.terminationStatus == 0)
        // The interval is 10 minutes: the checkpoint that exists was written on the way out.
        let store = try CheckpointStore(directory: topic.scratch.file("state-term"))
        #expect(store.files().count == 1)
        let second = try DriftlineBinary.spawn(arguments)
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
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
