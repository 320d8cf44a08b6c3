import DriftCore
import DriftKafka
import Logging

/// `driftline record`: consumes the configured topics into a ``Recording`` file, without
/// decoding anything and without committing offsets (recording never moves a group).
public enum Recorder {
    public struct Options {
        public var output: String
        /// Stop after no message for this long (counted from the first assignment).
        public var untilIdle: Duration?
        /// Stop after this many messages.
        public var maxMessages: Int?
        /// Where to start in partitions without a committed offset: `earliest` or `latest`.
        public var start = "earliest"
        public var shouldStop: () -> Bool = { false }
        public var logger = Logger(label: "driftline.record", factory: { _ in SwiftLogNoOpLogHandler() })
        public var extraProperties: [String: String] = [:]
        /// Called about once a second with the counts so far (progress on a terminal).
        public var status: ((Summary) -> Void)?
        public init(output: String) { self.output = output }
    }

    public struct Summary: Sendable {
        public var messages: UInt64 = 0
        public var bytes: Int64 = 0
        public var partitions: Set<TopicPartition> = []
        public var kafkaErrors = 0
        public var seconds: Double = 0

        public func render(output: String) -> String {
            var s = "recorded \(messages) messages (\(bytes) bytes of values) from \(partitions.count) partitions into \(output)"
            if kafkaErrors > 0 { s += "\nkafka errors reported (and retried by librdkafka): \(kafkaErrors)" }
            if seconds > 0 { s += "\n\(Double(Int(seconds * 1000)) / 1000) s, \(Int(Double(messages) / seconds)) messages/s" }
            return s
        }
    }

    public static func run(config: DriftlineConfig, options: Options) throws -> Summary {
        guard !config.kafka.topics.isEmpty else { throw ConfigError("config: `kafka.topics` is empty") }
        guard options.start == "earliest" || options.start == "latest" else {
            throw ConfigError("--from must be earliest or latest, not \(options.start)")
        }
        let clock = ContinuousClock()
        let started = clock.now
        var summary = Summary()
        let writer = try RecordingWriter(path: options.output)
        var properties = config.kafka.properties
        properties["auto.offset.reset"] = options.start
        for (k, v) in options.extraProperties { properties[k] = v }
        let consumer = try KafkaConsumer(.init(
            bootstrapServers: config.kafka.brokers, groupID: config.kafka.group + "-recorder", topics: config.kafka.topics,
            properties: properties))
        var assigned = false
        var lastMessage = clock.now
        var failure: Error?
        consumer.onAssign = { partitions in
            do { try writer.appendAssignment(partitions) } catch { failure = failure ?? error }
            assigned = true
            lastMessage = clock.now
            options.logger.info("assigned \(partitions.map(\.description).joined(separator: ", "))")
            return [:]
        }
        var kafkaErrors = KafkaErrorNotices()
        var lastStatus = clock.now
        var done = false
        while !done && !options.shouldStop() {
            try consumer.poll(maxMessages: 4096, timeoutMilliseconds: 100) { event in
                switch event {
                case .message(let m):
                    guard !done else { return }
                    try writer.append(m)
                    summary.messages += 1
                    summary.bytes += Int64(m.value.count)
                    summary.partitions.insert(m.topicPartition)
                    lastMessage = clock.now
                    if let max = options.maxMessages, summary.messages >= UInt64(max) { done = true }
                case .partitionEnd:
                    break
                case .error(let error):
                    summary.kafkaErrors += 1
                    kafkaErrors.report(error, to: options.logger)
                }
            }
            if let failure { throw failure }
            if let status = options.status, clock.now - lastStatus >= .seconds(1) {
                lastStatus = clock.now
                status(summary)
            }
            if let untilIdle = options.untilIdle {
                if assigned && clock.now - lastMessage >= untilIdle { break }
                if !assigned && clock.now - started >= max(untilIdle, .seconds(30)) {
                    throw KafkaError(
                        code: .timedOut, message: "no partition of \(config.kafka.topics.joined(separator: ", ")) was assigned",
                        context: "joining group \(config.kafka.group)-recorder at \(config.kafka.brokers)")
                }
            }
        }
        try writer.close()
        try consumer.close()
        let elapsed = clock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }
}
