/// What a Kafka cluster reported about its brokers and topics at one moment.
///
/// A plain value copied out of librdkafka's metadata response; it holds no connection.
public struct ClusterMetadata: Equatable, Sendable {
    /// A broker as advertised in the metadata response.
    public struct Broker: Hashable, Sendable {
        /// The broker id (`node.id`).
        public var id: Int32
        /// The advertised host name or address.
        public var host: String
        /// The advertised port.
        public var port: Int

        public init(id: Int32, host: String, port: Int) {
            self.id = id
            self.host = host
            self.port = port
        }
    }

    /// A topic and its partition count.
    public struct Topic: Equatable, Sendable {
        /// The topic name.
        public var name: String
        /// The number of partitions the broker reported.
        public var partitionCount: Int
        /// The topic-level error the broker reported, if any.
        public var error: KafkaError?

        public init(name: String, partitionCount: Int, error: KafkaError? = nil) {
            self.name = name
            self.partitionCount = partitionCount
            self.error = error
        }
    }

    /// The brokers of the cluster, sorted by id.
    public var brokers: [Broker]
    /// The topics of the cluster, sorted by name.
    public var topics: [Topic]
    /// The id of the broker that answered the request.
    public var originatingBrokerID: Int32

    public init(brokers: [Broker], topics: [Topic], originatingBrokerID: Int32) {
        self.brokers = brokers
        self.topics = topics
        self.originatingBrokerID = originatingBrokerID
    }

    /// The ids of ``brokers``, ascending.
    public var brokerIDs: [Int32] {
        brokers.map(\.id)
    }

    /// The partition count of the named topic, or `nil` when the cluster did not report it.
    public func partitionCount(of topic: String) -> Int? {
        topics.first { $0.name == topic }?.partitionCount
    }
}
