/// One partition of one topic.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition
    }

    /// `topic/partition`, the form used in logs and dead letters.
    public var description: String { "\(topic)/\(partition)" }
}

/// A Kafka record header.
public struct KafkaHeader: Hashable, Sendable {
    public var name: String
    /// `nil` for a header with a null value.
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}
