import CRdKafka

/// An owned librdkafka mock cluster (`rd_kafka_mock_cluster_t`) together with the client handle
/// it runs on.
///
/// `rd_kafka_mock_cluster_new` needs an `rd_kafka_t` for bookkeeping and logging and does not take
/// ownership of it; the mock cluster must be destroyed before that handle. This class owns both
/// and `deinit` destroys them in that order.
///
/// Not `Sendable`: ``EmbeddedBroker`` keeps it behind a mutex. (The `rd_kafka_mock_*` control
/// functions themselves are safe from any thread; they post ops to the cluster's own thread.)
final class RDKafkaMockCluster {
    private let client: RDKafkaClient
    private let cluster: OpaquePointer

    /// The number of brokers, with ids `1...brokerCount`.
    let brokerCount: Int

    /// The comma-separated `127.0.0.1:PORT` listeners (`rd_kafka_mock_cluster_bootstraps`).
    let bootstrapServers: String

    /// Starts `brokerCount` mock brokers, each listening on its own ephemeral loopback port.
    ///
    /// - Parameter properties: Configuration for the bookkeeping client handle (logging only; it
    ///   never connects anywhere).
    /// - Throws: ``KafkaError`` when the configuration is rejected or a listener cannot be created.
    init(brokerCount: Int, properties: [String: String]) throws(KafkaError) {
        guard let count = Int32(exactly: brokerCount), count >= 1 else {
            throw RDKafka.error(for: RD_KAFKA_RESP_ERR__INVALID_ARG,
                                detail: "a mock cluster needs at least one broker, got \(brokerCount)",
                                context: "starting an embedded broker")
        }
        let config = try RDKafkaConfig(properties)
        let client = try RDKafkaClient(type: .producer, config: config)
        let created = client.withUnsafeHandle { handle in
            rd_kafka_mock_cluster_new(handle, count)
        }
        guard let created else {
            // The reason (for example a failed bind) went to the handle's log.
            throw RDKafka.error(for: RDKafka.lastError(or: RD_KAFKA_RESP_ERR__FAIL),
                                detail: "rd_kafka_mock_cluster_new failed; see the librdkafka log",
                                context: "starting an embedded broker")
        }
        self.client = client
        self.cluster = created
        self.brokerCount = brokerCount
        // The string is owned by the cluster: copy it now.
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(created))
    }

    deinit {
        // Joins the mock cluster thread and closes its listeners; `client` (the rd_kafka_t the
        // cluster was created on) is released after this body, so it outlives the cluster.
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates a topic (`rd_kafka_mock_topic_create`).
    ///
    /// librdkafka 2.0.2 records but does not use `replicationFactor`: each partition gets
    /// min(3, brokers) replicas.
    ///
    /// - Throws: ``KafkaError``, for example ``KafkaError/Code/topicAlreadyExists``.
    func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32) throws(KafkaError) {
        let code = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        try RDKafka.check(code, context: "creating topic \"\(name)\" on the embedded broker")
    }
}

// MARK: - Fault injection

extension RDKafkaMockCluster {
    /// Takes a broker down (`rd_kafka_mock_broker_set_down`): its connections close and it
    /// refuses new ones until ``setBrokerUp(_:)``.
    func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try RDKafka.check(rd_kafka_mock_broker_set_down(cluster, id), context: "taking broker \(id) down")
    }

    /// Brings a broker back (`rd_kafka_mock_broker_set_up`).
    func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try RDKafka.check(rd_kafka_mock_broker_set_up(cluster, id), context: "bringing broker \(id) up")
    }

    /// Delays every response of a broker (`rd_kafka_mock_broker_set_rtt`).
    func setRoundTrip(_ id: Int32, milliseconds: Int32) throws(KafkaError) {
        try RDKafka.check(rd_kafka_mock_broker_set_rtt(cluster, id, milliseconds), context: "setting broker \(id)'s RTT")
    }

    /// Makes the next requests of an API fail, one error per request, cluster-wide
    /// (`rd_kafka_mock_push_request_errors_array`).
    func pushRequestErrors(apiKey: Int16, _ codes: [Int32]) {
        let errors = codes.map { rd_kafka_resp_err_t($0) }
        errors.withUnsafeBufferPointer { rd_kafka_mock_push_request_errors_array(cluster, apiKey, $0.count, $0.baseAddress) }
    }

    /// Moves a partition's leadership (`rd_kafka_mock_partition_set_leader`).
    func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try RDKafka.check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker),
                          context: "moving the leader of \(topic)/\(partition)")
    }

    /// Moves the group coordinator (`rd_kafka_mock_coordinator_set`).
    func setGroupCoordinator(group: String, broker: Int32) throws(KafkaError) {
        try RDKafka.check(rd_kafka_mock_coordinator_set(cluster, "group", group, broker),
                          context: "moving the coordinator of group \(group)")
    }
}
