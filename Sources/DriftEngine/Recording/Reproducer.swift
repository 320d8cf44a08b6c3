import DriftCore
import DriftKafka

/// `driftline replay --input REC --to-topic T`: produces recorded traffic into a topic,
/// keeping each record's key, timestamp, headers and partition, paced by recorded time.
public enum Reproducer {
    public struct Summary: Sendable {
        public var messages = 0
        public var seconds: Double = 0
        public var warnings: [String] = []
    }

    /// - Parameters:
    ///   - speed: Recorded time runs this many times faster; `nil`: as fast as possible.
    public static func run(
        inputs: [String], topic: String, bootstrapServers: String, properties: [String: String], speed: Double?,
        progress: ((Int64, Int64, Int64) -> Void)? = nil
    ) throws -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        var summary = Summary()
        let producer = try KafkaProducer(.init(bootstrapServers: bootstrapServers, properties: properties))
        var pacer = speed.map(Pacer.init)
        for path in inputs {
            guard Recording.isRecording(path: path) else {
                throw FileError("\(path) is not a recording (`driftline record` writes them); --to-topic re-produces recordings only")
            }
            let reader = try RecordingReader(path: path)
            while try reader.read({ entry in
                guard case .message(let m) = entry else { return }
                if pacer != nil, let t = m.timestamp {
                    // Record timestamps are in milliseconds.
                    let due = pacer!.due(t &* 1000, now: clock.now)
                    while due > clock.now {
                        producer.poll(timeoutMilliseconds: 1)
                        try? await_sleep(until: min(due, clock.now + .milliseconds(50)), clock: clock)
                    }
                }
                try producer.send(
                    topic: topic, partition: m.topicPartition.partition, key: m.key, value: m.value, timestamp: m.timestamp,
                    headers: m.headers())
                summary.messages += 1
                if summary.messages % 10_000 == 0 { producer.poll() }
            }) {
                progress?(reader.fileBytesRead, 0, Int64(summary.messages))
            }
            if reader.truncated || !reader.endedCleanly {
                summary.warnings.append("\(path) ends without its end entry (the recorder did not stop cleanly); its \(reader.entries) complete entries were produced")
            }
        }
        try producer.flush()
        guard producer.failed == 0 else {
            throw producer.firstFailure ?? KafkaError(code: .fail, message: "\(producer.failed) messages were not delivered")
        }
        let elapsed = clock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }
}
