import CRdKafka

/// An owned librdkafka client handle (`rd_kafka_t`), destroyed in `deinit`.
///
/// This is the one owner of the handle: other code borrows it only through
/// ``withUnsafeHandle(_:)``.
///
/// `@unchecked Sendable` is safe because the only stored state is the handle pointer, which never
/// changes after `init`, and librdkafka documents the `rd_kafka_t` API as thread-safe: any thread
/// may call into the same handle concurrently. `rd_kafka_destroy` runs from `deinit`, that is only
/// once no thread holds a reference.
final class RDKafkaClient: @unchecked Sendable {
    /// The kind of client librdkafka should create.
    enum ClientType {
        case producer
        case consumer

        var rawValue: rd_kafka_type_t {
            switch self {
            case .producer: RD_KAFKA_PRODUCER
            case .consumer: RD_KAFKA_CONSUMER
            }
        }
    }

    private let handle: OpaquePointer

    /// Creates a client handle from a configuration (`rd_kafka_new`).
    ///
    /// - Throws: ``KafkaError`` with librdkafka's `errstr` when the handle cannot be created, for
    ///   example because of conflicting properties.
    init(type: ClientType, config: consuming RDKafkaConfig) throws(KafkaError) {
        let conf = config.takeOwnership()
        let (created, errorText) = RDKafka.withErrorBuffer { errstr, size in
            rd_kafka_new(type.rawValue, conf, errstr, size)
        }
        guard let created else {
            // rd_kafka_new only frees the conf on success: on failure it is still ours.
            rd_kafka_conf_destroy(conf)
            throw RDKafka.error(for: RDKafka.lastError(or: RD_KAFKA_RESP_ERR__FAIL), detail: errorText,
                                context: "creating a librdkafka client")
        }
        // From here on the conf belongs to the handle and is freed by rd_kafka_destroy.
        handle = created
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Lends the `rd_kafka_t` pointer to `body`.
    ///
    /// Do not escape the pointer: it is destroyed together with this object.
    func withUnsafeHandle<Result, Failure: Error>(
        _ body: (OpaquePointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(handle)
    }

    /// Requests cluster metadata for all topics from any reachable broker (`rd_kafka_metadata`).
    ///
    /// Blocks the calling thread for up to `timeoutMilliseconds`.
    ///
    /// - Throws: ``KafkaError``, typically ``KafkaError/Code/transport`` when no broker could be
    ///   reached or ``KafkaError/Code/timedOut`` when none answered in time.
    func metadata(timeoutMilliseconds: Int32) throws(KafkaError) -> ClusterMetadata {
        var result: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle, 1, nil, &result, timeoutMilliseconds)
        try RDKafka.check(code, context: "requesting cluster metadata")
        guard let result else {
            throw RDKafka.error(for: RD_KAFKA_RESP_ERR__FAIL, detail: "librdkafka returned no metadata",
                                context: "requesting cluster metadata")
        }
        // The metadata is ours until rd_kafka_metadata_destroy; copy out everything first.
        defer { rd_kafka_metadata_destroy(result) }
        return ClusterMetadata(result.pointee)
    }
}

extension ClusterMetadata {
    /// Copies a librdkafka metadata result into Swift values, sorted by broker id and topic name.
    ///
    /// `metadata` must stay alive for the duration of this call only.
    fileprivate init(_ metadata: rd_kafka_metadata) {
        let brokers = UnsafeBufferPointer(start: metadata.brokers, count: Int(metadata.broker_cnt))
            .map { broker in
                Broker(id: broker.id, host: String(cString: broker.host), port: Int(broker.port))
            }
        let topics = UnsafeBufferPointer(start: metadata.topics, count: Int(metadata.topic_cnt))
            .map { topic in
                let name = String(cString: topic.topic)
                let error = topic.err == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? nil
                    : RDKafka.error(for: topic.err, context: "topic \"\(name)\"")
                return Topic(name: name, partitionCount: Int(topic.partition_cnt), error: error)
            }
        self.init(brokers: brokers.sorted { $0.id < $1.id },
                  topics: topics.sorted { $0.name < $1.name },
                  originatingBrokerID: metadata.orig_broker_id)
    }
}
