import DriftCore
import DriftKafka

/// Produces a snapshot of every closed window into a Kafka topic: one record per window whose
/// value is exactly what the snapshot directory holds for that window (a zstd
/// ``FileContainer`` of kind snapshot: ``WindowSnapshot/init(fileBytes:)`` reads it) and whose
/// key is ``key(model:end:)``.
///
/// Deliveries are checked: a failed one fails the next ``write(_:)`` or ``flush()``, as a
/// snapshot file that cannot be written stops a run. A live run flushes before every checkpoint,
/// so offsets are committed only once the snapshots of the windows closed before it are in the
/// topic. A window recomputed after a restart is produced again with the same key and bytes: a
/// compacted topic keeps one record per window, as the directory keeps one file.
///
/// Not thread-safe: use it from the thread that closes windows.
public final class SnapshotProducer {
    public let topic: String
    let encoder: SnapshotEncoder
    let producer: KafkaProducer
    let flushTimeoutMilliseconds: Int32
    /// Records handed to the producer.
    public private(set) var produced = 0
    /// Records the brokers acknowledged.
    public var delivered: Int { producer.delivered }

    /// - Parameters:
    ///   - properties: librdkafka properties (the config's `kafka.properties`).
    ///   - flushTimeoutMilliseconds: How long ``flush()`` waits for records in flight.
    public init(
        topic: String, bootstrapServers: String, properties: [String: String], encoder: SnapshotEncoder,
        flushTimeoutMilliseconds: Int32 = 30_000
    ) throws {
        guard !topic.isEmpty else { throw ConfigError("--snapshots-topic needs a topic name") }
        self.topic = topic
        self.encoder = encoder
        self.flushTimeoutMilliseconds = flushTimeoutMilliseconds
        producer = try KafkaProducer(.init(bootstrapServers: bootstrapServers, properties: properties))
    }

    /// The record key of a window's snapshot: `<model>/<window end, RFC 3339 UTC milliseconds>`,
    /// stable across runs (the alert ids end the same way).
    public static func key(model: String, end: EpochMicroseconds) -> String {
        model + "/" + TimestampFormat.rfc3339Milliseconds(end)
    }

    /// Queues the window's snapshot.
    ///
    /// - Throws: ``KafkaError`` when an earlier snapshot was not delivered, or this one cannot
    ///   be queued (larger than `message.max.bytes`, queue full past its timeout).
    public func write(_ window: ClosedWindow) throws {
        try checkDeliveries()
        let value = try encoder.fileBytes(of: window)
        let key = Self.key(model: window.model, end: window.end)
        do {
            try producer.send(topic: topic, key: Array(key.utf8), value: value)
        } catch var error as KafkaError {
            error.context = "producing the snapshot \(key) (\(value.count) bytes) to \(topic)"
            if error.code.name.hasSuffix("MSG_SIZE_TOO_LARGE") {
                error.context! += "; raise message.max.bytes in kafka.properties and the topic's max.message.bytes"
            }
            throw error
        }
        produced += 1
        producer.poll()
    }

    /// Waits until every snapshot produced so far is delivered.
    ///
    /// - Throws: ``KafkaError`` when one was not delivered, or some are still in flight after
    ///   the flush timeout.
    public func flush() throws {
        do {
            try producer.flush(timeoutMilliseconds: flushTimeoutMilliseconds)
        } catch var error {
            error.context = "snapshots to \(topic): \(producer.outstanding) of \(produced) not delivered"
            throw error
        }
        try checkDeliveries()
    }

    func checkDeliveries() throws {
        guard producer.failed > 0 else { return }
        var error = producer.firstFailure ?? KafkaError(code: .fail, message: "delivery failed")
        error.context = "snapshots to \(topic): \(producer.failed) of \(produced) not delivered"
        throw error
    }
}
