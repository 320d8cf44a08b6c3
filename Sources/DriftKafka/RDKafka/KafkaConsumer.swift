import CRdKafka

/// A message borrowed from librdkafka during ``KafkaConsumer/poll(maxMessages:timeoutMilliseconds:_:)``.
///
/// ``key`` and ``value`` point into librdkafka's buffers: they are valid only inside the callback
/// that receives the message, and nothing is copied unless the callback copies it.
public struct KafkaMessage {
    public let topicPartition: TopicPartition
    public let offset: Int64
    /// Milliseconds since the epoch (create or log-append time), `nil` when the record has none.
    public let timestamp: Int64?
    /// `nil` for a record without a key.
    public let key: UnsafeRawBufferPointer?
    /// Empty for a record with a null value (a tombstone).
    public let value: UnsafeRawBufferPointer
    let message: UnsafeMutablePointer<rd_kafka_message_t>

    /// The record's headers, copied out (allocates; for recordings and re-production).
    public func headers() -> [KafkaHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        while true {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  let name
            else { break }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(name: String(cString: name), value: bytes))
            index += 1
        }
        return result
    }
}

/// What one poll of a ``KafkaConsumer`` delivers, in the order librdkafka served it.
public enum KafkaConsumerEvent {
    /// A record.
    case message(KafkaMessage)
    /// The consumer has read everything the partition held; `offset` is the next offset.
    case partitionEnd(TopicPartition, offset: Int64)
    /// A non-fatal error librdkafka reported (a broker down, a failed fetch); it retries by itself.
    case error(KafkaError)
}

/// A consumer-group member: subscribes to topics, owns the rebalance callback, polls messages in
/// batches and commits offsets only when told to.
///
/// Auto-commit and the automatic offset store are always off: the caller decides what is
/// durable (``commit(_:)``). Every call must come from the one thread that polls: librdkafka
/// 2.0.x's batch consume is not safe against a concurrent seek, pause or rebalance, and the
/// rebalance callbacks (``onAssign``, ``onRevoke``) run inside ``poll(maxMessages:timeoutMilliseconds:_:)``
/// and ``close()`` on that thread.
public final class KafkaConsumer {
    /// What to connect to and how.
    public struct Configuration: Sendable {
        public var bootstrapServers: String
        public var groupID: String
        /// Topic names, or regular expressions starting with `^`.
        public var topics: [String]
        /// librdkafka properties applied over Driftline's defaults (SASL, SSL, timeouts...).
        /// `enable.auto.commit` and `enable.auto.offset.store` are always `false`.
        public var properties: [String: String]

        public init(bootstrapServers: String, groupID: String, topics: [String], properties: [String: String] = [:]) {
            self.bootstrapServers = bootstrapServers
            self.groupID = groupID
            self.topics = topics
            self.properties = properties
        }

        /// The librdkafka properties the client is created with.
        var effectiveProperties: [String: String] {
            var p: [String: String] = [
                "client.id": "driftline",
                "auto.offset.reset": "earliest",
                "enable.partition.eof": "true",
                // Only warnings and errors from librdkafka's own logger.
                "log_level": "4",
                // librdkafka 2.0.x stops fetching a partition once the prefetch queue holds
                // `queued.min.messages` messages or `queued.max.messages.kbytes`, and looks
                // again only when its broker thread wakes up next: up to a second later, as
                // nothing wakes it when the application drains the queue. A consumer that is
                // behind then empties the queue and waits: with the defaults (100 000
                // messages, 64 MiB) `driftline run` read at ~200 k messages/s with a third of
                // the time idle. The queue should hold about a second of processing: the
                // count limit is lifted and the byte limit doubled (~0.7 s at 450 k messages/s
                // of 400-byte events). Lower both in `kafka.properties` to save memory at the
                // cost of such stalls.
                "queued.min.messages": "10000000",
                "queued.max.messages.kbytes": "131072",
            ]
            for (k, v) in properties { p[k] = v }
            p["bootstrap.servers"] = bootstrapServers
            p["group.id"] = groupID
            p["enable.auto.commit"] = "false"
            p["enable.auto.offset.store"] = "false"
            return p
        }
    }

    /// The start offset that means a partition's first retained message.
    public static let offsetBeginning = Int64(RD_KAFKA_OFFSET_BEGINNING)

    /// Called when partitions are assigned, before any is fetched; returns the offset to start
    /// each at (missing: the committed offset, else `auto.offset.reset`).
    public var onAssign: (([TopicPartition]) -> [TopicPartition: Int64])? {
        get { callbacks.onAssign }
        set { callbacks.onAssign = newValue }
    }

    /// Called when partitions are revoked, before they are unassigned: the last moment to
    /// make their state durable and commit their offsets.
    public var onRevoke: (([TopicPartition]) -> Void)? {
        get { callbacks.onRevoke }
        set { callbacks.onRevoke = newValue }
    }

    /// Called with librdkafka's statistics JSON every `statistics.interval.ms` (off unless that
    /// property is set), inside ``poll(maxMessages:timeoutMilliseconds:_:)``.
    public var onStatistics: ((String) -> Void)? {
        get { callbacks.onStatistics }
        set { callbacks.onStatistics = newValue }
    }

    /// Partitions currently assigned.
    public var assignment: Set<TopicPartition> { callbacks.assignment }

    /// `EAGER`, `COOPERATIVE` or `NONE` (before the first join).
    public var rebalanceProtocol: String {
        client.withUnsafeHandle { rd_kafka_rebalance_protocol($0).map { String(cString: $0) } ?? "NONE" }
    }

    let client: RDKafkaClient
    let queue: OpaquePointer
    let callbacks: ConsumerCallbacks
    let callbacksReference: Unmanaged<ConsumerCallbacks>
    var topicNames: [OpaquePointer: String] = [:]
    /// The topic of the last message and its name: messages come in runs of one topic.
    var lastTopic: OpaquePointer?
    var lastTopicName = ""
    var messages: UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    var closed = false

    /// Creates the client and subscribes.
    ///
    /// - Throws: ``KafkaError`` for an invalid property or subscription.
    public init(_ configuration: Configuration, maxBatch: Int = 4096) throws(KafkaError) {
        let config = try RDKafkaConfig(configuration.effectiveProperties)
        let callbacks = ConsumerCallbacks()
        let reference = Unmanaged.passRetained(callbacks)
        config.withUnsafePointer { conf in
            rd_kafka_conf_set_opaque(conf, reference.toOpaque())
            rd_kafka_conf_set_rebalance_cb(conf, consumerRebalance)
            rd_kafka_conf_set_error_cb(conf, consumerError)
            rd_kafka_conf_set_stats_cb(conf, consumerStatistics)
        }
        let client: RDKafkaClient
        do {
            client = try RDKafkaClient(type: .consumer, config: config)
        } catch {
            reference.release()
            throw error
        }
        self.client = client
        self.callbacks = callbacks
        self.callbacksReference = reference
        queue = client.withUnsafeHandle { handle in
            // Rebalance and error events are served together with the messages.
            rd_kafka_poll_set_consumer(handle)
            return rd_kafka_queue_get_consumer(handle)
        }
        messages = .allocate(capacity: max(1, maxBatch))
        // Without topics the consumer only reads group state (committed offsets).
        guard !configuration.topics.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(configuration.topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in configuration.topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let code = client.withUnsafeHandle { rd_kafka_subscribe($0, list) }
        try RDKafka.check(code, context: "subscribing to \(configuration.topics.joined(separator: ", "))")
    }

    deinit {
        if !closed { try? close() }
        rd_kafka_queue_destroy(queue)
        messages.deallocate()
        // After close no callback runs any more (they are served only by poll and close); the
        // `callbacks` property keeps the object alive until the handle is gone anyway.
        callbacksReference.release()
    }

    /// Waits up to `timeoutMilliseconds` for messages and hands each event to `body`.
    ///
    /// Rebalance callbacks run inside this call. Messages are destroyed after `body` returns,
    /// even when it throws.
    ///
    /// - Returns: The number of events delivered.
    /// - Throws: What `body` or a rebalance callback threw, or ``KafkaError`` for a fatal error.
    @discardableResult
    public func poll(
        maxMessages: Int, timeoutMilliseconds: Int32, _ body: (KafkaConsumerEvent) throws -> Void
    ) throws -> Int {
        let n = rd_kafka_consume_batch_queue(queue, Int32(timeoutMilliseconds), messages.baseAddress, min(maxMessages, messages.count))
        if let failure = callbacks.takeFailure() {
            for i in 0..<max(0, n) { rd_kafka_message_destroy(messages[i]) }
            throw failure
        }
        if n < 0 {
            throw RDKafka.error(for: RDKafka.lastError(or: RD_KAFKA_RESP_ERR__FAIL), context: "polling for messages")
        }
        var delivered = 0
        var index = 0
        defer {
            while index < n {
                rd_kafka_message_destroy(messages[index])
                index += 1
            }
        }
        while index < n {
            let m = messages[index]!
            let message = m.pointee
            let topicPartition = TopicPartition(topicName(message.rkt), message.partition)
            if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let timestamp = rd_kafka_message_timestamp(m, &type)
                let key = message.key.map { UnsafeRawBufferPointer(start: $0, count: message.key_len) }
                try body(.message(KafkaMessage(
                    topicPartition: topicPartition, offset: message.offset,
                    timestamp: type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
                    key: key, value: UnsafeRawBufferPointer(start: message.payload, count: message.payload == nil ? 0 : message.len),
                    message: m)))
            } else if message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                try body(.partitionEnd(topicPartition, offset: message.offset))
            } else {
                let text = message.payload.map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: message.len), as: UTF8.self)
                }
                try body(.error(RDKafka.error(for: message.err, detail: text, context: "consuming \(topicPartition)")))
            }
            delivered += 1
            rd_kafka_message_destroy(m)
            index += 1
        }
        for error in callbacks.takeErrors() {
            try body(.error(error))
            delivered += 1
        }
        try checkFatal()
        return delivered
    }

    /// The name of a message's topic, looked up in the dictionary once per run of one topic.
    @inline(__always)
    func topicName(_ topic: OpaquePointer?) -> String {
        if topic == lastTopic { return lastTopicName }
        lastTopic = topic
        lastTopicName = topicNameLookup(topic)
        return lastTopicName
    }

    func topicNameLookup(_ topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        if let name = topicNames[topic] { return name }
        let name = String(cString: rd_kafka_topic_name(topic))
        topicNames[topic] = name
        return name
    }

    func checkFatal() throws(KafkaError) {
        let (code, text) = RDKafka.withErrorBuffer { errstr, size in
            client.withUnsafeHandle { rd_kafka_fatal_error($0, errstr, size) }
        }
        try RDKafka.check(code, detail: text, context: "fatal consumer error")
    }

    /// Commits `offsets` (the next offset to read, per partition) and waits for the broker.
    ///
    /// - Throws: ``KafkaError`` for the request or the first partition that failed.
    public func commit(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = makeList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = client.withUnsafeHandle { rd_kafka_commit($0, list, 0) }
        try RDKafka.check(code, context: "committing offsets")
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            try RDKafka.check(element.err, context: "committing the offset of \(String(cString: element.topic))/\(element.partition)")
        }
    }

    /// The group's committed offsets for `partitions` (`nil` where none is committed).
    public func committed(_ partitions: [TopicPartition], timeoutMilliseconds: Int32 = 10_000) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = makeList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let code = client.withUnsafeHandle { rd_kafka_committed($0, list, Int32(timeoutMilliseconds)) }
        try RDKafka.check(code, context: "reading committed offsets")
        var result: [TopicPartition: Int64] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            if element.offset >= 0 {
                result[TopicPartition(String(cString: element.topic), element.partition)] = element.offset
            }
        }
        return result
    }

    /// The partition's low and high watermarks as last seen by fetches (no request is made);
    /// `nil` until the first fetch response.
    public func cachedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1, high: Int64 = -1
        let code = client.withUnsafeHandle {
            rd_kafka_get_watermark_offsets($0, partition.topic, partition.partition, &low, &high)
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (low, high)
    }

    /// Reads partitions without a group (for a consumer made without topics): replaces the
    /// assignment with `offsets` (`rd_kafka_assign`); nothing is committed for them.
    public func assign(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        let list = makeList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try RDKafka.check(client.withUnsafeHandle { rd_kafka_assign($0, list) }, context: "assigning partitions")
        callbacks.assignment = Set(offsets.keys)
    }

    /// The partition's low and high watermarks, asked of its leader.
    public func queryWatermarks(_ partition: TopicPartition, timeoutMilliseconds: Int32 = 10_000) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = -1, high: Int64 = -1
        let code = client.withUnsafeHandle {
            rd_kafka_query_watermark_offsets($0, partition.topic, partition.partition, &low, &high, timeoutMilliseconds)
        }
        try RDKafka.check(code, context: "querying the watermarks of \(partition)")
        return (low, high)
    }

    /// The cluster's topics and their partition counts.
    public func metadata(timeoutMilliseconds: Int32 = 10_000) throws(KafkaError) -> ClusterMetadata {
        try client.metadata(timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Leaves the group: runs the revoke callback for the assigned partitions and closes the
    /// consumer (`rd_kafka_consumer_close`). Idempotent.
    public func close() throws(KafkaError) {
        guard !closed else { return }
        closed = true
        let code = client.withUnsafeHandle { rd_kafka_consumer_close($0) }
        if let failure = callbacks.takeFailure() {
            throw KafkaError(code: .fail, message: "\(failure)", context: "closing the consumer")
        }
        try RDKafka.check(code, context: "closing the consumer")
    }

    func makeList(_ offsets: [TopicPartition: Int64]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for (tp, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset
        }
        return list
    }
}

/// State reached from librdkafka's C callbacks through the configuration's opaque pointer.
/// Used only on the polling thread (callbacks run inside poll and close).
final class ConsumerCallbacks {
    var onAssign: (([TopicPartition]) -> [TopicPartition: Int64])?
    var onRevoke: (([TopicPartition]) -> Void)?
    var onStatistics: ((String) -> Void)?
    var assignment: Set<TopicPartition> = []
    var errors: [KafkaError] = []
    var failure: KafkaError?

    func takeErrors() -> [KafkaError] {
        defer { errors.removeAll() }
        return errors
    }

    func takeFailure() -> KafkaError? {
        defer { failure = nil }
        return failure
    }

    func rebalance(_ handle: OpaquePointer, _ code: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        // NULL once the consumer has left the group (a revoke while it closes).
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        var partitions: [TopicPartition] = []
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            partitions.append(TopicPartition(String(cString: element.topic), element.partition))
        }
        if code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            let offsets = onAssign?(partitions) ?? [:]
            for i in 0..<Int(list.pointee.cnt) {
                list.pointee.elems[i].offset = offsets[partitions[i]] ?? Int64(RD_KAFKA_OFFSET_INVALID)
            }
            if cooperative {
                record(rd_kafka_incremental_assign(handle, list), "assigning partitions")
            } else {
                record(rd_kafka_assign(handle, list), "assigning partitions")
            }
            assignment.formUnion(partitions)
        } else {
            onRevoke?(partitions)
            if cooperative {
                record(rd_kafka_incremental_unassign(handle, list), "unassigning partitions")
            } else {
                record(rd_kafka_assign(handle, nil), "unassigning partitions")
            }
            assignment.subtract(partitions)
        }
    }

    func record(_ error: OpaquePointer?, _ context: String) {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        failure = KafkaError(
            code: KafkaError.Code(rd_kafka_error_code(error)), message: String(cString: rd_kafka_error_string(error)),
            context: context)
    }

    func record(_ code: rd_kafka_resp_err_t, _ context: String) {
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { failure = RDKafka.error(for: code, context: context) }
    }
}

private func consumerRebalance(
    _ handle: OpaquePointer?, _ code: rd_kafka_resp_err_t,
    _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let list, let opaque else { return }
    Unmanaged<ConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue().rebalance(handle, code, list)
}

private func consumerError(_ handle: OpaquePointer?, _ code: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    let callbacks = Unmanaged<ConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
    let text = reason.map { String(cString: $0) }
    callbacks.errors.append(RDKafka.error(for: rd_kafka_resp_err_t(code), detail: text))
}

private func consumerStatistics(
    _ handle: OpaquePointer?, _ json: UnsafeMutablePointer<CChar>?, _ length: Int, _ opaque: UnsafeMutableRawPointer?
) -> Int32 {
    guard let json, let opaque else { return 0 }
    let callbacks = Unmanaged<ConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
    callbacks.onStatistics?(String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self))
    // 0: librdkafka frees the JSON.
    return 0
}
