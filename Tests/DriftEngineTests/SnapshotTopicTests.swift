import DriftCore
import DriftEngine
import DriftKafka
import Foundation
import Testing

/// `--snapshots-topic`: snapshots produced to a topic of the embedded broker, consumed back and
/// compared with the snapshot directory the same run wrote.
@Suite struct SnapshotTopicTests {
    /// Every record of `topic` (key, value), once `count` have arrived or 30 s have passed.
    static func consume(_ broker: EmbeddedBroker, topic: String, count: Int) throws -> [(key: String, value: [UInt8])] {
        let consumer = try KafkaConsumer(.init(
            bootstrapServers: broker.bootstrapServers, groupID: "snapshot-reader", topics: [topic], properties: ["log_level": "0"]))
        var records: [(key: String, value: [UInt8])] = []
        let deadline = Date().addingTimeInterval(30)
        while records.count < count && Date() < deadline {
            try consumer.poll(maxMessages: 100, timeoutMilliseconds: 100) { event in
                guard case .message(let m) = event else { return }
                records.append((String(decoding: m.key ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self), Array(m.value)))
            }
        }
        // Anything beyond `count` would be a duplicate: give it a moment to show up.
        try consumer.poll(maxMessages: 100, timeoutMilliseconds: 500) { event in
            guard case .message(let m) = event else { return }
            records.append((String(decoding: m.key ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self), Array(m.value)))
        }
        try consumer.close()
        return records
    }

    /// Each record is one window's snapshot, keyed model/window-end, byte for byte the file the
    /// directory holds for that window, and every window of the directory has its record.
    static func expectSameSnapshots(_ records: [(key: String, value: [UInt8])], directory: String) throws {
        let (snapshots, skipped) = SnapshotReader.read(directory)
        #expect(skipped.isEmpty)
        #expect(snapshots.count >= 20)
        let files = try #require(FileManager.default.enumerator(atPath: directory)).compactMap { $0 as? String }.filter { $0.hasSuffix(".drs") }
        var fileBytes: [String: [UInt8]] = [:]
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
            let s = try WindowSnapshot(fileBytes: bytes)
            fileBytes[SnapshotProducer.key(model: s.model, end: s.end)] = bytes
        }
        #expect(records.count == snapshots.count)
        #expect(Set(records.map(\.key)) == Set(fileBytes.keys))
        var decoded: [WindowSnapshot] = []
        for r in records {
            let s = try WindowSnapshot(fileBytes: r.value)
            #expect(r.key == SnapshotProducer.key(model: s.model, end: s.end))
            #expect(r.value == fileBytes[r.key], "\(r.key)")
            decoded.append(s)
        }
        let order: (WindowSnapshot, WindowSnapshot) -> Bool = { $0.end != $1.end ? $0.end < $1.end : $0.model < $1.model }
        #expect(decoded.sorted(by: order) == snapshots.sorted(by: order))
    }

    @Test func aLiveRunProducesTheSnapshotsItWritesToItsDirectory() throws {
        let topic = try LiveTopic()
        try topic.broker.createTopic("driftline-snapshots", partitions: 4)
        let config = try DriftlineConfig(contentsOf: try topic.config(group: "snapshots", state: "state-snapshots"))
        let profile = try config.loadProfile()
        let directory = topic.scratch.file("snapshots")
        let outputs = try #require(try SnapshotOutputs.open(
            directory: directory, topic: "driftline-snapshots", bootstrapServers: topic.broker.bootstrapServers, config: config,
            profile: profile))
        var options = LiveRun.Options()
        options.untilIdle = .milliseconds(1500)
        options.onWindow = outputs.hook(after: nil)
        options.beforeCheckpoint = outputs.flush
        let summary = try LiveRun(config: config, profile: profile).run(options: options)
        try outputs.close()
        #expect(summary.windowsClosed == 26)
        #expect(summary.checkpointFailures == 0)
        #expect(outputs.topic?.produced == 26 && outputs.topic?.delivered == 26)
        #expect(outputs.summary == "snapshots: 26 files in \(directory), 26 records delivered to topic driftline-snapshots")
        let records = try Self.consume(topic.broker, topic: "driftline-snapshots", count: 26)
        try Self.expectSameSnapshots(records, directory: directory)
    }

    @Test func replayProducesSnapshotsThroughTheCommandLine() throws {
        let broker = try EmbeddedBroker(topics: [(name: "snapshots", partitions: 4)])
        defer { broker.stop() }
        let scratch = try ScratchDirectory()
        _ = try ProfileBuild.run(
            config: try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml")),
            inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: scratch.file("reference.drp"))
        let config = scratch.file("fraud.yaml")
        try String(contentsOfFile: Fixture.path("fraud.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "profile: traffic/reference.drp", with: "profile: \(scratch.file("reference.drp"))")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let directory = scratch.file("snapshots")
        let replay = try DriftlineBinary.run([
            "replay", "--config", config, "--input", Fixture.path("traffic/stream.ndjson.zst"), "--snapshots", directory,
            "--snapshots-topic", "snapshots", "--brokers", broker.bootstrapServers, "--log-format", "json",
        ])
        #expect(replay.status == 0, "\(replay.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data((replay.stderr.split(separator: "\n").last ?? "").utf8)) as? [String: String])
        #expect(summary["message"]?.hasSuffix("snapshots: 26 files in \(directory), 26 records delivered to topic snapshots") == true)
        let records = try Self.consume(broker, topic: "snapshots", count: 26)
        try Self.expectSameSnapshots(records, directory: directory)
    }

    @Test func undeliveredSnapshotsFailTheReplayWithOneLine() throws {
        let scenario = try VolumeScenario()
        // Nothing listens on port 1: every record fails once message.timeout.ms passes.
        let config = try String(contentsOfFile: scenario.configPath, encoding: .utf8)
            + "kafka:\n  properties:\n    message.timeout.ms: \"300\"\n    log_level: \"0\"\n"
        try config.write(toFile: scenario.configPath, atomically: true, encoding: .utf8)
        let replay = try DriftlineBinary.run([
            "replay", "--config", scenario.configPath, "--input", try scenario.writeStream(), "--snapshots-topic", "lost",
            "--brokers", "127.0.0.1:1",
        ])
        #expect(replay.status == 1)
        let last = replay.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("driftline: snapshots to lost: 8 of 8 not delivered: "), "\(last)")
    }
}
