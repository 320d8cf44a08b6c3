import DriftKafka
import Testing

/// Producer and consumer against the embedded broker over the Kafka protocol.
@Suite struct ConsumerProducerTests {
    /// Short timeouts so a member that leaves is noticed quickly; quiet logs.
    static let consumerProperties = [
        "session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "log_level": "0",
    ]

    struct Received: Hashable {
        var partition: Int32
        var offset: Int64
        var key: [UInt8]?
        var value: [UInt8]
        var timestamp: Int64?
        var headers: [KafkaHeader]
    }

    /// Polls until `done` or the deadline; returns messages in arrival order.
    static func consume(
        _ consumer: KafkaConsumer, seconds: Int = 30, until done: ([Received], Set<TopicPartition>) -> Bool
    ) throws -> [Received] {
        var received: [Received] = []
        var ended: Set<TopicPartition> = []
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline && !done(received, ended) {
            try consumer.poll(maxMessages: 500, timeoutMilliseconds: 100) { event in
                switch event {
                case .message(let m):
                    ended.remove(m.topicPartition)
                    received.append(Received(
                        partition: m.topicPartition.partition, offset: m.offset, key: m.key.map(Array.init),
                        value: Array(m.value), timestamp: m.timestamp, headers: m.headers()))
                case .partitionEnd(let tp, _):
                    ended.insert(tp)
                case .error:
                    break
                }
            }
        }
        return received
    }

    @Test func everyProducedMessageIsConsumedWithKeyTimestampAndHeaders() throws {
        let broker = try EmbeddedBroker(topics: [(name: "events", partitions: 3)])
        defer { broker.stop() }
        let producer = try KafkaProducer(.init(bootstrapServers: broker.bootstrapServers, properties: ["log_level": "0"]))
        let count = 3000
        for i in 0..<count {
            let headers = i % 100 == 0 ? [KafkaHeader(name: "h", value: Array("v\(i)".utf8)), KafkaHeader(name: "null", value: nil)] : []
            try producer.send(
                topic: "events", partition: Int32(i % 3), key: i % 7 == 0 ? nil : Array("k\(i)".utf8),
                value: Array("{\"i\":\(i)}".utf8), timestamp: 1_700_000_000_000 + Int64(i), headers: headers)
        }
        try producer.flush()
        #expect(producer.delivered == count)
        #expect(producer.failed == 0)

        let consumer = try KafkaConsumer(.init(
            bootstrapServers: broker.bootstrapServers, groupID: "g1", topics: ["events"],
            properties: Self.consumerProperties))
        var assigned: [TopicPartition] = []
        consumer.onAssign = { partitions in
            assigned.append(contentsOf: partitions)
            return [:]
        }
        let received = try Self.consume(consumer) { r, _ in r.count >= count }
        #expect(received.count == count)
        #expect(Set(assigned) == Set((0..<3).map { TopicPartition("events", $0) }))
        #expect(consumer.assignment.count == 3)
        // Per partition, offsets are 0, 1, 2, ... in order and the payloads match what was sent.
        for p in Int32(0)..<3 {
            let mine = received.filter { $0.partition == p }
            #expect(mine.map(\.offset) == (0..<Int64(count / 3)).map { $0 })
            for (j, r) in mine.enumerated() {
                let i = j * 3 + Int(p)
                #expect(r.value == Array("{\"i\":\(i)}".utf8))
                #expect(r.key == (i % 7 == 0 ? nil : Array("k\(i)".utf8)))
                #expect(r.timestamp == 1_700_000_000_000 + Int64(i))
                if i % 100 == 0 {
                    #expect(r.headers == [KafkaHeader(name: "h", value: Array("v\(i)".utf8)), KafkaHeader(name: "null", value: nil)])
                } else {
                    #expect(r.headers.isEmpty)
                }
            }
        }
        try consumer.close()
    }

    @Test func committedOffsetsAreWhereASecondMemberStarts() throws {
        let broker = try EmbeddedBroker(topics: [(name: "events", partitions: 2)])
        defer { broker.stop() }
        let producer = try KafkaProducer(.init(bootstrapServers: broker.bootstrapServers, properties: ["log_level": "0"]))
        for i in 0..<200 { try producer.send(topic: "events", partition: Int32(i % 2), key: nil, value: Array("\(i)".utf8)) }
        try producer.flush()

        let first = try KafkaConsumer(.init(
            bootstrapServers: broker.bootstrapServers, groupID: "g", topics: ["events"], properties: Self.consumerProperties))
        _ = try Self.consume(first) { _, ended in ended.count == 2 }
        // Nothing is committed automatically.
        let partitions = [TopicPartition("events", 0), TopicPartition("events", 1)]
        #expect(try first.committed(partitions).isEmpty)
        try first.commit([partitions[0]: 40, partitions[1]: 70])
        #expect(try first.committed(partitions) == [partitions[0]: 40, partitions[1]: 70])
        try first.close()

        let second = try KafkaConsumer(.init(
            bootstrapServers: broker.bootstrapServers, groupID: "g", topics: ["events"], properties: Self.consumerProperties))
        let again = try Self.consume(second) { _, ended in ended.count == 2 }
        #expect(again.filter { $0.partition == 0 }.map(\.offset).first == 40)
        #expect(again.filter { $0.partition == 1 }.map(\.offset).first == 70)
        #expect(again.count == 200 - 40 - 70)
        try second.close()
    }

    @Test func assignCallbackOffsetsOverrideTheCommittedOnes() throws {
        let broker = try EmbeddedBroker(topics: [(name: "events", partitions: 1)])
        defer { broker.stop() }
        let producer = try KafkaProducer(.init(bootstrapServers: broker.bootstrapServers, properties: ["log_level": "0"]))
        for i in 0..<50 { try producer.send(topic: "events", key: nil, value: Array("\(i)".utf8)) }
        try producer.flush()
        let consumer = try KafkaConsumer(.init(
            bootstrapServers: broker.bootstrapServers, groupID: "g", topics: ["events"], properties: Self.consumerProperties))
        consumer.onAssign = { partitions in Dictionary(uniqueKeysWithValues: partitions.map { ($0, 45) }) }
        var revoked: [TopicPartition] = []
        consumer.onRevoke = { revoked.append(contentsOf: $0) }
        let received = try Self.consume(consumer) { _, ended in ended.count == 1 }
        #expect(received.map(\.offset) == [45, 46, 47, 48, 49])
        try consumer.close()
        // Leaving the group revokes through the callback.
        #expect(revoked == [TopicPartition("events", 0)])
    }

    @Test func cooperativeStickyAssignsIncrementally() throws {
        let broker = try EmbeddedBroker(topics: [(name: "events", partitions: 2)])
        defer { broker.stop() }
        let producer = try KafkaProducer(.init(bootstrapServers: broker.bootstrapServers, properties: ["log_level": "0"]))
        for i in 0..<20 { try producer.send(topic: "events", partition: Int32(i % 2), key: nil, value: Array("\(i)".utf8)) }
        try producer.flush()
        var properties = Self.consumerProperties
        properties["partition.assignment.strategy"] = "cooperative-sticky"
        let consumer = try KafkaConsumer(.init(
            bootstrapServers: broker.bootstrapServers, groupID: "coop", topics: ["events"], properties: properties))
        let received = try Self.consume(consumer) { r, ended in ended.count == 2 && r.count == 20 }
        #expect(received.count == 20)
        #expect(consumer.rebalanceProtocol == "COOPERATIVE")
        try consumer.close()
        #expect(consumer.assignment.isEmpty)
    }

    @Test func invalidPropertyIsNamedInTheError() throws {
        let error = try #require(throws: KafkaError.self) {
            _ = try KafkaConsumer(.init(bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"], properties: ["no.such.property": "1"]))
        }
        #expect(error.code == .invalidArgument)
        #expect(error.description.contains("no.such.property"))
    }

    @Test func producerReportsUndeliverableMessages() throws {
        // Nothing listens on port 1: messages time out and come back as failed deliveries.
        let producer = try KafkaProducer(.init(
            bootstrapServers: "127.0.0.1:1", properties: ["message.timeout.ms": "300", "log_level": "0"]))
        try producer.send(topic: "t", key: nil, value: Array("x".utf8))
        try? producer.flush(timeoutMilliseconds: 5000)
        #expect(producer.failed == 1)
        #expect(producer.delivered == 0)
        #expect(producer.firstFailure?.code.name == "_MSG_TIMED_OUT")
    }
}
