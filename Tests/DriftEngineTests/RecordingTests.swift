import DriftCore
import DriftEngine
import DriftKafka
import DriftStats
import Foundation
import Testing

@Suite struct RecordingFormatTests {
    struct Message: Equatable {
        var tp: TopicPartition
        var offset: Int64
        var timestamp: Int64?
        var key: [UInt8]?
        var value: [UInt8]
        var headers: [KafkaHeader]
    }

    func sample(_ n: Int) -> [Message] {
        (0..<n).map { i in
            Message(
                tp: TopicPartition(i % 3 == 0 ? "a" : "topic-b", Int32(i % 5)), offset: Int64(i * 2), timestamp: i % 4 == 0 ? nil : 1_700_000_000_000 + Int64(i),
                key: i % 6 == 0 ? nil : (i % 6 == 1 ? [] : Array("key-\(i)".utf8)),
                value: Array(String(repeating: "v\(i),", count: i % 50).utf8),
                headers: i % 10 == 0 ? [KafkaHeader(name: "trace", value: Array("t\(i)".utf8)), KafkaHeader(name: "empty", value: nil)] : [])
        }
    }

    func write(_ messages: [Message], to path: String, close: Bool = true) throws {
        let writer = try RecordingWriter(path: path)
        try writer.appendAssignment([TopicPartition("a", 0), TopicPartition("topic-b", 1)])
        for m in messages {
            let key = m.key
            try m.value.withUnsafeBytes { v in
                if let key {
                    try key.withUnsafeBytes { k in
                        try writer.append(topic: m.tp.topic, partition: m.tp.partition, offset: m.offset, timestamp: m.timestamp, key: k, value: v, headers: m.headers)
                    }
                } else {
                    try writer.append(topic: m.tp.topic, partition: m.tp.partition, offset: m.offset, timestamp: m.timestamp, key: nil, value: v, headers: m.headers)
                }
            }
        }
        if close { try writer.close() }
    }

    func read(_ path: String) throws -> (messages: [Message], assignments: [[TopicPartition]], reader: RecordingReader) {
        let reader = try RecordingReader(path: path)
        var messages: [Message] = []
        var assignments: [[TopicPartition]] = []
        while try reader.read({ entry in
            switch entry {
            case .message(let m):
                messages.append(Message(
                    tp: m.topicPartition, offset: m.offset, timestamp: m.timestamp, key: m.key.map(Array.init),
                    value: Array(m.value), headers: m.headers()))
            case .assignment(let p):
                assignments.append(p)
            case .end(let n):
                #expect(n == UInt64(messages.count))
            }
        }) {}
        return (messages, assignments, reader)
    }

    @Test func everyFieldRoundTrips() throws {
        let scratch = try ScratchDirectory()
        // Enough data for several compressed frames.
        let messages = sample(30_000)
        try write(messages, to: scratch.file("r.drr"))
        #expect(Recording.isRecording(path: scratch.file("r.drr")))
        let (got, assignments, reader) = try read(scratch.file("r.drr"))
        #expect(got == messages)
        #expect(assignments == [[TopicPartition("a", 0), TopicPartition("topic-b", 1)]])
        #expect(reader.endedCleanly && !reader.truncated)
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.file("r.drr"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aCutFileGivesItsCompleteEntriesAndSaysItWasCut() throws {
        let scratch = try ScratchDirectory()
        let messages = sample(30_000)
        try write(messages, to: scratch.file("r.drr"))
        let whole = try Data(contentsOf: URL(fileURLWithPath: scratch.file("r.drr")))
        for fraction in [0.3, 0.61, 0.999] {
            let cut = scratch.file("cut.drr")
            try whole.prefix(Int(Double(whole.count) * fraction)).write(to: URL(fileURLWithPath: cut))
            let (got, _, reader) = try read(cut)
            #expect(!reader.endedCleanly, "cut at \(fraction)")
            #expect(got.count < messages.count)
            #expect(got == Array(messages.prefix(got.count)), "a prefix, never a damaged message")
        }
    }

    /// Entries are read and checked ahead on another thread: a damaged entry still stops the
    /// read after every entry before it, with the entry's number.
    @Test func aDamagedEntryStopsTheReadAfterTheEntriesBeforeIt() throws {
        let scratch = try ScratchDirectory()
        let messages = sample(30_000)
        try write(messages, to: scratch.file("r.drr"))
        var plain = try Zstd.decompress(try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("r.drr")))))
        // Message 21 520's value is "v21520," 20 times; change a letter of it.
        let needle = Array("v21520,".utf8)
        let at = try #require((0..<(plain.count - needle.count)).first { plain[$0..<($0 + needle.count)].elementsEqual(needle) })
        plain[at] = UInt8(ascii: "w")
        for (name, bytes) in [("plain.drr", plain), ("compressed.drr", try Zstd.compress(plain))] {
            try Data(bytes).write(to: URL(fileURLWithPath: scratch.file(name)))
            let reader = try RecordingReader(path: scratch.file(name))
            var got: [Message] = []
            let error = try #require(throws: FileError.self) {
                while try reader.read({ entry in
                    if case .message(let m) = entry {
                        got.append(Message(
                            tp: m.topicPartition, offset: m.offset, timestamp: m.timestamp, key: m.key.map(Array.init),
                            value: Array(m.value), headers: m.headers()))
                    }
                }) {}
            }
            // The assignment is entry 1.
            #expect(error.message == "\(scratch.file(name)): entry 21522 is damaged (checksum mismatch)")
            let before = got == Array(messages.prefix(21_520))
            #expect(before, "\(name): \(got.count) messages")
            #expect(reader.entries == 21_521)
        }
    }

    /// A damaged length field is a damaged entry, not a recording cut short: it stops the
    /// read naming the entry instead of buffering the rest of the file.
    @Test func aDamagedLengthIsADamagedEntry() throws {
        let scratch = try ScratchDirectory()
        try write(sample(3_000), to: scratch.file("r.drr"))
        var plain = try Zstd.decompress(try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("r.drr")))))
        // Entry 1 is the assignment, so message 1 200 is entry 1 202: make its length huge.
        func length(at i: Int) -> Int { (1...4).reduce(0) { $0 | Int(plain[i + $1]) << (8 * ($1 - 1)) } }
        var at = 16  // the header
        for _ in 0..<1_201 { at += 9 + length(at: at) }
        plain[at + 4] = 0x7F
        let damagedLength = length(at: at)
        try Data(plain).write(to: URL(fileURLWithPath: scratch.file("damaged.drr")))
        let reader = try RecordingReader(path: scratch.file("damaged.drr"))
        var count = 0
        let error = try #require(throws: FileError.self) {
            while try reader.read({ if case .message = $0 { count += 1 } }) {}
        }
        #expect(error.message == "\(scratch.file("damaged.drr")): entry 1202 is damaged (a length of \(damagedLength) bytes)")
        #expect(count == 1_200 && !reader.truncated)
    }

    /// Readers dropped after their first entry end their reading threads and close their
    /// files.
    @Test func readersStoppedEarlyReleaseTheirFiles() throws {
        let scratch = try ScratchDirectory()
        try write(sample(30_000), to: scratch.file("r.drr"))
        func openFiles() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        let before = openFiles()
        for _ in 0..<50 {
            let reader = try RecordingReader(path: scratch.file("r.drr"))
            struct Enough: Error {}
            #expect(throws: Enough.self) { _ = try reader.read { _ in throw Enough() } }
        }
        // The threads close their files as they end, right after the readers go.
        var after = openFiles()
        for _ in 0..<200 where after > before {
            usleep(10_000)
            after = openFiles()
        }
        #expect(after <= before, "\(before) open files before, \(after) after")
    }

    @Test func damagedNewerOrForeignFilesAreRefusedByName() throws {
        let scratch = try ScratchDirectory()
        // Uncompressed recording bytes: flip one byte inside an entry.
        let writer = try RecordingWriter(path: scratch.file("r.drr"))
        try writer.append(topic: "t", partition: 0, offset: 1, timestamp: nil, key: nil, value: UnsafeRawBufferPointer(start: nil, count: 0), headers: [])
        try writer.close()
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("r.drr"))))
        var plain = try Zstd.decompress(compressed)
        plain[plain.count - 20] ^= 0x40
        try Data(plain).write(to: URL(fileURLWithPath: scratch.file("damaged.drr")))
        #expect(Recording.isRecording(path: scratch.file("damaged.drr")))
        let damaged = try #require(throws: FileError.self) { _ = try read(scratch.file("damaged.drr")) }
        #expect(damaged.message.contains("damaged.drr"))

        var newer = try Zstd.decompress(compressed)
        newer[8] = 9  // major version 9
        let crc = CRC32C.checksum(Array(newer[0..<12]))
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { newer[12 + i] = $0[i] } }
        try Data(newer).write(to: URL(fileURLWithPath: scratch.file("newer.drr")))
        let refused = try #require(throws: FileError.self) { _ = try read(scratch.file("newer.drr")) }
        #expect(refused.message.contains("newer"))

        try Data("{\"ts\": 1}\n".utf8).write(to: URL(fileURLWithPath: scratch.file("events.ndjson")))
        #expect(!Recording.isRecording(path: scratch.file("events.ndjson")))
    }
}

/// Record a topic, replay the recording, re-produce it into another topic and monitor that:
/// every path gives the live run's results byte for byte.
@Suite struct RecordReplayTests {
    @Test func recordingsReplayAndReproduceToTheLiveResults() throws {
        let topic = try LiveTopic()
        try topic.broker.createTopic("copy", partitions: topic.partitions)
        let configPath = try topic.config(group: "live", state: "state-live")
        let config = try DriftlineConfig(contentsOf: configPath)
        var options = LiveRun.Options()
        options.resultsPath = topic.scratch.file("live.jsonl")
        options.untilIdle = .milliseconds(1500)
        _ = try LiveRun(config: config, profile: try config.loadProfile()).run(options: options)
        let live = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("live.jsonl")))

        var recordOptions = Recorder.Options(output: topic.scratch.file("traffic.drr"))
        recordOptions.untilIdle = .milliseconds(1500)
        let recorded = try Recorder.run(config: config, options: recordOptions)
        #expect(recorded.messages == UInt64(topic.lines.count))
        #expect(recorded.partitions.count == topic.partitions)

        var replayOptions = Replay.Options()
        replayOptions.resultsPath = topic.scratch.file("replayed.jsonl")
        let replayed = try Replay(config: config, profile: try config.loadProfile())
            .run(inputs: [topic.scratch.file("traffic.drr")], options: replayOptions)
        #expect(replayed.linesRead == Int64(topic.lines.count))
        #expect(replayed.warnings.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("replayed.jsonl"))) == live)

        let produced = try Reproducer.run(
            inputs: [topic.scratch.file("traffic.drr")], topic: "copy", bootstrapServers: topic.broker.bootstrapServers,
            properties: ["log_level": "0"], speed: nil)
        #expect(produced.messages == topic.lines.count)
        var copyConfig = config
        copyConfig.kafka.topics = ["copy"]
        copyConfig.kafka.group = "copy"
        copyConfig.checkpoint.directory = topic.scratch.file("state-copy")
        options.resultsPath = topic.scratch.file("copy.jsonl")
        _ = try LiveRun(config: copyConfig, profile: try config.loadProfile()).run(options: options)
        #expect(try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("copy.jsonl"))) == live)
    }
}
