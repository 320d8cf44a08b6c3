import Synchronization

/// A Kafka-protocol broker running inside this process, on loopback: librdkafka's mock cluster.
///
/// Any Kafka client (librdkafka, kcat, Java) can connect to ``bootstrapServers`` and produce,
/// consume, join consumer groups and commit offsets. Driftline uses it for tests, for
/// `driftline demo` and for `driftline broker`.
///
/// ```swift
/// let broker = try EmbeddedBroker(brokers: 3, topics: [("predictions", 6)])
/// let metadata = try KafkaMetadata.fetch(bootstrapServers: broker.bootstrapServers)
/// broker.stop()
/// ```
///
/// ## Limits of the librdkafka 2.0.2 mock cluster
/// - Plaintext only: no TLS, no SASL.
/// - Loopback only, and every broker listens on an ephemeral port chosen by the kernel; 2.0.2 has
///   no function or property to choose the port (its listener binds `127.0.0.1:0`).
/// - Data lives in memory and each partition keeps only its newest ~5 MB (at most 100 000
///   message batches); older batches are dropped, so a consumer that falls behind loses them.
/// - No admin API (CreateTopics and friends): create topics with
///   ``createTopic(_:partitions:replicationFactor:)`` or the `topics:` argument. A metadata request
///   that names an unknown topic and allows auto-creation (librdkafka producers do by default)
///   creates it with 4 partitions.
/// - The first join of a consumer group waits about 3 s (the mock's initial rebalance delay).
/// - The mock is documented by librdkafka as experimental and outside its API stability promise.
///
/// ## Thread safety
/// `EmbeddedBroker` is `Sendable`: its only mutable state, the running cluster, sits behind a
/// `Mutex`, so ``stop()`` and ``createTopic(_:partitions:replicationFactor:)`` may be called
/// from any thread, concurrently, and ``stop()`` any number of times. The cluster serves clients
/// on librdkafka's own threads; nothing needs to poll it.
public final class EmbeddedBroker: Sendable {
    /// The running cluster; `nil` once stopped.
    let cluster: Mutex<RDKafkaMockCluster?>

    /// The number of brokers, with ids `1...brokerCount`.
    public let brokerCount: Int

    /// The comma-separated listener addresses, `127.0.0.1:PORT,127.0.0.1:PORT,...`, one per
    /// broker in id order; pass it as `bootstrap.servers` to any Kafka client.
    ///
    /// The corresponding C function is `rd_kafka_mock_cluster_bootstraps`. The value stays the
    /// same after ``stop()``, but nothing listens there any more.
    public let bootstrapServers: String

    /// Starts a mock cluster and creates the given topics.
    ///
    /// The corresponding C function is `rd_kafka_mock_cluster_new`, run on a dedicated producer
    /// handle whose logging is limited to errors.
    ///
    /// - Parameters:
    ///   - brokers: The number of brokers, at least 1.
    ///   - topics: Topics to create up front, each with at least one partition.
    /// - Throws: ``KafkaError`` when the cluster cannot start or a topic cannot be created; a
    ///   cluster that started is stopped again before the error propagates.
    public init(brokers: Int = 1, topics: [(name: String, partitions: Int)] = []) throws(KafkaError) {
        let running = try RDKafkaMockCluster(
            brokerCount: brokers,
            properties: [
                "client.id": "driftline-embedded-broker",
                // The bookkeeping handle never connects; keep its notices (such as "no
                // bootstrap.servers configured") out of the output, errors stay visible.
                "log_level": "3",
            ]
        )
        for topic in topics {
            try Self.createTopic(topic.name, partitions: topic.partitions, replicationFactor: 1, on: running)
        }
        self.brokerCount = brokers
        self.bootstrapServers = running.bootstrapServers
        self.cluster = Mutex(running)
    }

    deinit {
        stop()
    }

    /// Whether the cluster is still serving (``stop()`` has not been called).
    public var isRunning: Bool {
        cluster.withLock { $0 != nil }
    }

    /// Creates a topic on the running cluster.
    ///
    /// The corresponding C function is `rd_kafka_mock_topic_create`.
    ///
    /// - Parameters:
    ///   - name: The topic name.
    ///   - partitions: The number of partitions, at least 1.
    ///   - replicationFactor: Recorded but not used by librdkafka 2.0.2, which gives every
    ///     partition min(3, ``brokerCount``) replicas; must be at least 1.
    /// - Throws: ``KafkaError`` with ``KafkaError/Code/topicAlreadyExists`` for a duplicate name,
    ///   ``KafkaError/Code/invalidArgument`` for a count below 1, or ``KafkaError/Code/state``
    ///   after ``stop()``.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try cluster.withLock { (running: inout RDKafkaMockCluster?) throws(KafkaError) in
            guard let running else {
                throw KafkaError(code: .state, message: "the embedded broker is stopped",
                                 context: "creating topic \"\(name)\"")
            }
            try Self.createTopic(name, partitions: partitions, replicationFactor: replicationFactor, on: running)
        }
    }

    /// Stops every broker: listeners close, connected clients see their connections drop.
    ///
    /// Calls `rd_kafka_mock_cluster_destroy`, then `rd_kafka_destroy` on the cluster's handle.
    /// Idempotent; also called from `deinit`. Blocks until librdkafka's threads have exited.
    public func stop() {
        // Destroy outside the lock so concurrent callers of `isRunning` are not held up by the
        // thread joins; the `sending` hand-off makes the cluster ours alone.
        let stopped = cluster.withLock { (running: inout sending RDKafkaMockCluster?) -> sending RDKafkaMockCluster? in
            let taken = running
            running = nil
            return taken
        }
        _ = consume stopped
    }

    private static func createTopic(
        _ name: String, partitions: Int, replicationFactor: Int, on running: RDKafkaMockCluster
    ) throws(KafkaError) {
        // librdkafka 2.0.2 would allocate a zero-length partition array for 0 and misbehave for
        // negative counts, so reject them here.
        guard let partitionCount = Int32(exactly: partitions), partitionCount >= 1,
              let replicas = Int32(exactly: replicationFactor), replicas >= 1
        else {
            throw KafkaError(
                code: .invalidArgument,
                message: "partitions and replication factor must be at least 1, got \(partitions) and \(replicationFactor)",
                context: "creating topic \"\(name)\"")
        }
        try running.createTopic(name, partitions: partitionCount, replicationFactor: replicas)
    }
}

// MARK: - Fault injection (tests and fault drills)

extension EmbeddedBroker {
    /// Kafka protocol API keys for ``failNextRequests(_:with:)``.
    public enum APIKey: Int16, Sendable {
        case produce = 0
        case fetch = 1
        case listOffsets = 2
        case metadata = 3
        case offsetCommit = 8
        case offsetFetch = 9
        case findCoordinator = 10
        case joinGroup = 11
        case heartbeat = 12
        case syncGroup = 14
    }

    private func withCluster(_ what: String, _ body: (RDKafkaMockCluster) throws(KafkaError) -> Void) throws(KafkaError) {
        try cluster.withLock { (running: inout RDKafkaMockCluster?) throws(KafkaError) in
            guard let running else {
                throw KafkaError(code: .state, message: "the embedded broker is stopped", context: what)
            }
            try body(running)
        }
    }

    /// Takes broker `id` (1-based) down until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ id: Int) throws(KafkaError) {
        try withCluster("taking a broker down") { (c) throws(KafkaError) in try c.setBrokerDown(Int32(id)) }
    }

    /// Brings broker `id` back up.
    public func setBrokerUp(_ id: Int) throws(KafkaError) {
        try withCluster("bringing a broker up") { (c) throws(KafkaError) in try c.setBrokerUp(Int32(id)) }
    }

    /// Delays every response of broker `id` by `milliseconds`.
    public func setRoundTrip(broker id: Int, milliseconds: Int) throws(KafkaError) {
        try withCluster("setting a round-trip time") { (c) throws(KafkaError) in
            try c.setRoundTrip(Int32(id), milliseconds: Int32(milliseconds))
        }
    }

    /// Makes the next `errors.count` requests of `api` fail with these errors, in order.
    public func failNextRequests(_ api: APIKey, with errors: [KafkaError.Code]) throws(KafkaError) {
        try withCluster("injecting request errors") { c in c.pushRequestErrors(apiKey: api.rawValue, errors.map(\.rawValue)) }
    }

    /// Moves the leadership of a partition to broker `id`.
    public func setPartitionLeader(topic: String, partition: Int, broker id: Int) throws(KafkaError) {
        try withCluster("moving a partition leader") { (c) throws(KafkaError) in
            try c.setPartitionLeader(topic: topic, partition: Int32(partition), broker: Int32(id))
        }
    }

    /// Moves a consumer group's coordinator to broker `id`.
    public func setGroupCoordinator(group: String, broker id: Int) throws(KafkaError) {
        try withCluster("moving a group coordinator") { (c) throws(KafkaError) in
            try c.setGroupCoordinator(group: group, broker: Int32(id))
        }
    }
}

extension KafkaError.Code {
    /// `RD_KAFKA_RESP_ERR_NOT_COORDINATOR` (16): the broker is not the group's coordinator.
    public static let notCoordinator = Self(rawValue: 16)
    /// `RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION` (6).
    public static let notLeaderForPartition = Self(rawValue: 6)
    /// `RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT` (7).
    public static let requestTimedOut = Self(rawValue: 7)
    /// `RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART` (3).
    public static let unknownTopicOrPartition = Self(rawValue: 3)
}
