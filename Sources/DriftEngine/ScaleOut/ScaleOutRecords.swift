import DriftCore
import DriftKafka
import DriftStats

/// A partition's state in the state topic of a scaled-out run: everything a worker needs to
/// take the partition over where its previous owner left it.
///
/// The record is keyed `<group>/<topic>/<partition>`, so a compacted topic keeps the newest one
/// per partition.
struct PartitionState: Sendable, Equatable {
    /// The config settings the state depends on (``LiveRun/settings``).
    var settings: String
    var profileFingerprint: UInt32
    /// `topic/partition`.
    var partition: String
    /// The next offset to read.
    var nextOffset: Int64
    var counts: PartitionCounts
    /// ``PartitionedAggregator/encodePartition(_:to:)``.
    var aggregates: [UInt8]

    func recordBytes() throws -> [UInt8] {
        var w = ByteWriter(capacity: aggregates.count + 128)
        w.string(settings)
        w.u32(profileFingerprint)
        w.string(partition)
        w.i64(nextOffset)
        w.i64(counts.messages)
        w.i64(counts.late)
        w.i64(counts.rejected)
        w.int(aggregates.count)
        w.raw(aggregates)
        return try FileContainer.encode(.partitionState, payload: w.bytes, level: 1)
    }

    init(settings: String, profileFingerprint: UInt32, partition: String, nextOffset: Int64, counts: PartitionCounts, aggregates: [UInt8]) {
        self.settings = settings
        self.profileFingerprint = profileFingerprint
        self.partition = partition
        self.nextOffset = nextOffset
        self.counts = counts
        self.aggregates = aggregates
    }

    /// - Throws: ``FormatError`` for anything but a complete, intact record.
    init(recordBytes: [UInt8]) throws(FormatError) {
        let (_, payload) = try FileContainer.decode(.partitionState, recordBytes)
        var r = ByteReader(payload)
        do {
            settings = try r.string()
            profileFingerprint = try r.u32()
            partition = try r.string()
            nextOffset = try r.i64()
            counts = PartitionCounts(messages: try r.i64(), late: try r.i64(), rejected: try r.i64())
            aggregates = try r.raw(try r.count(unit: 1))
        } catch {
            throw FormatError("partition state: \(error)")
        }
        guard r.isAtEnd else { throw FormatError("partition state: trailing bytes") }
    }

    /// The state topic's key of a partition.
    static func key(group: String, partition: String) -> [UInt8] { Array("\(group)/\(partition)".utf8) }
}

/// Reading the newest record of each key from topics used as tables (the state topic).
enum TopicTable {
    /// Reads `partitions` of `topic` from their start to their end as of now and returns the
    /// newest value of every key.
    ///
    /// - Throws: ``KafkaError`` when the end is not reached within `timeout`.
    static func newestByKey(
        _ consumer: KafkaConsumer, topic: String, partitions: Set<Int32>, timeout: Duration = .seconds(60)
    ) throws -> [[UInt8]: [UInt8]] {
        var ends: [TopicPartition: Int64] = [:]
        var start: [TopicPartition: Int64] = [:]
        for p in partitions {
            let tp = TopicPartition(topic, p)
            let marks = try consumer.queryWatermarks(tp)
            if marks.high > marks.low {
                ends[tp] = marks.high
                start[tp] = marks.low
            }
        }
        var newest: [[UInt8]: [UInt8]] = [:]
        guard !start.isEmpty else { return newest }
        try consumer.assign(start)
        defer { try? consumer.assign([:]) }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var remaining = Set(ends.keys)
        while !remaining.isEmpty {
            guard clock.now < deadline else {
                throw KafkaError(code: .timedOut, message: "the end of \(remaining.sorted().map(\.description).joined(separator: ", ")) was not reached in \(timeout)", context: "reading the state topic")
            }
            try consumer.poll(maxMessages: 1024, timeoutMilliseconds: 100) { event in
                switch event {
                case .message(let m):
                    if let key = m.key { newest[Array(key)] = Array(m.value) }
                    if m.offset + 1 >= ends[m.topicPartition] ?? 0 { remaining.remove(m.topicPartition) }
                case .partitionEnd(let tp, let offset):
                    if offset >= ends[tp] ?? 0 { remaining.remove(tp) }
                case .error(let error):
                    // Transient errors are retried by librdkafka; the deadline bounds the wait.
                    _ = error
                }
            }
        }
        return newest
    }
}
