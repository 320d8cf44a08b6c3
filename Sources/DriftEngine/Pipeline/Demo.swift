#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftKafka
import Logging

/// `driftline demo`: the whole product end to end on this machine. It starts the embedded
/// broker, builds the reference profile from the Fixtures reference traffic, produces the
/// Fixtures stream (drift injected halfway) through the real producer, and monitors the topic
/// through the real consumer path (`driftline run` with `--until-idle`), writing results,
/// dead letters and checkpoints into one directory.
public enum Demo {
    public struct Outcome: Sendable {
        public var summary: LiveSummary
        public var produced: Int
        public var partitions: Int
        public var directory: String
        public var resultsPath: String
        public var deadLetterPath: String
        public var checkpointDirectory: String
        public var profilePath: String
        public var alertsPath: String
        public var alertChanges: Int
    }

    static func alertsPath(_ directory: String) -> String {
        let path = directory + "/alerts.jsonl"
        return path.hasPrefix("/") ? path : cwd() + "/" + path
    }

    public static let topic = "predictions"
    public static let partitions = 4

    /// - Parameters:
    ///   - fixtures: The `Fixtures` directory (with `fraud.yaml` and `traffic/`).
    ///   - directory: Where the demo writes; its checkpoints from an earlier demo are removed,
    ///     since they belong to a broker that no longer exists.
    public static func run(
        fixtures: String, directory: String, logger: Logger,
        onWindow: ((ClosedWindow) throws -> Void)?, onAlert: @escaping (String) -> Void = { _ in }
    ) throws -> Outcome {
        let configPath = fixtures + "/fraud.yaml"
        let stream = fixtures + "/traffic/stream.ndjson.zst"
        let reference = fixtures + "/traffic/reference.ndjson.zst"
        for path in [configPath, stream, reference] where access(path, R_OK) != 0 {
            throw FileError("cannot read \(path): run the demo from the repository root or pass --fixtures DIR")
        }
        try CheckpointStore.makeDirectory(directory)
        let state = directory + "/state"
        if let old = try? CheckpointStore(directory: state) {
            for file in old.files() { unlink(file.path) }
        }

        var config = try DriftlineConfig(contentsOf: configPath)
        let profilePath = directory + "/reference.drp"
        logger.info("building the reference profile from \(reference)")
        _ = try ProfileBuild.run(config: config, inputs: [reference], output: profilePath)
        config.reference.profile = profilePath.hasPrefix("/") ? profilePath : cwd() + "/" + profilePath

        let broker = try EmbeddedBroker(topics: [(name: topic, partitions: partitions)])
        defer { broker.stop() }
        logger.info("embedded broker at \(broker.bootstrapServers), topic \(topic) with \(partitions) partitions")

        let produced = try produce(stream, to: broker.bootstrapServers)
        logger.info("produced \(produced) messages through the Kafka producer; consuming as group driftline-demo")

        config.kafka.brokers = broker.bootstrapServers
        config.kafka.topics = [topic]
        config.kafka.group = "driftline-demo"
        config.checkpoint.directory = state.hasPrefix("/") ? state : cwd() + "/" + state
        config.checkpoint.intervalMicroseconds = 1_000_000
        let live = try LiveRun(config: config, profile: try config.loadProfile())
        var options = LiveRun.Options()
        options.resultsPath = directory + "/results.jsonl"
        options.deadLetterPath = directory + "/dead-letters.ndjson"
        options.untilIdle = .seconds(1)
        // Snapshots of every closed window, for `driftline inspect`.
        let snapshots = try SnapshotWriter(directory: directory + "/snapshots", config: config, profile: try config.loadProfile())
        options.onWindow = snapshots.hook(after: onWindow)
        options.logger = logger
        // The example config's rules, printed and written to the demo directory.
        config.alerts.sinks = [.stdout, .file(alertsPath(directory))]
        options.alerts = try config.makeAlerting(print: onAlert, logger: logger)
        options.extraProperties = ["log_level": "3"]
        let summary = try live.run(options: options)
        try snapshots.close()
        return Outcome(
            summary: summary, produced: produced, partitions: partitions, directory: directory,
            resultsPath: options.resultsPath!, deadLetterPath: options.deadLetterPath!,
            checkpointDirectory: config.checkpoint.directory, profilePath: profilePath,
            alertsPath: alertsPath(directory), alertChanges: summary.alertChanges)
    }

    /// Produces every line of a (zstd) NDJSON file, round-robin over the partitions, keyed by
    /// line number, and waits for every delivery report.
    static func produce(_ path: String, to bootstrap: String) throws -> Int {
        let producer = try KafkaProducer(.init(bootstrapServers: bootstrap, properties: ["log_level": "3"]))
        let lines = LineReader(source: try ByteSource(path: path), maxLineBytes: 1 << 20)
        var count = 0
        var sendError: Error?
        var more = true
        func send(_ line: UnsafeRawBufferPointer, number: Int64) {
            guard sendError == nil else { return }
            var key = String(number)
            do {
                try key.withUTF8 { k in
                    try producer.send(topic: topic, partition: Int32(count % partitions), key: UnsafeRawBufferPointer(k), value: line)
                }
                count += 1
            } catch {
                sendError = error
            }
        }
        while more && sendError == nil {
            more = try lines.nextRuns { run in
                switch run {
                case .lines(let text, let firstLine):
                    var number = firstLine
                    var start = 0
                    while start < text.count {
                        var end = start
                        while end < text.count && text[end] != 0x0A { end += 1 }
                        var stop = end
                        if stop > start && text[stop - 1] == 0x0D { stop -= 1 }
                        send(UnsafeRawBufferPointer(rebasing: text[start..<stop]), number: number)
                        number += 1
                        start = end + 1
                    }
                    return number - firstLine
                case .tooLong(let number, _):
                    sendError = FileError("\(path):\(number): line longer than 1 MiB")
                    return 1
                }
            }
        }
        if let sendError { throw sendError }
        try producer.flush()
        guard producer.failed == 0 else {
            throw producer.firstFailure ?? KafkaError(code: .fail, message: "\(producer.failed) messages were not delivered")
        }
        return count
    }

    static func cwd() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let ok = buffer.withUnsafeMutableBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { getcwd($0.baseAddress, $0.count) != nil }
        }
        guard ok else { return "." }
        return String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
