import DriftKafka
import Testing

/// Runs librdkafka's mock cluster for real and talks to it over the Kafka protocol through a
/// separate client handle; nothing in librdkafka is stubbed.
@Suite struct EmbeddedBrokerTests {
    /// Short enough to keep the suite fast, long enough for a loopback round trip on a busy
    /// 2-core machine.
    let metadataTimeout = Duration.seconds(3)

    /// Metadata clients in these tests log nothing; failures arrive as thrown errors.
    let quiet = ["log_level": "0"]

    @Test func versionStringMatchesNumericVersion() {
        let version = Librdkafka.version
        let (major, minor, revision) = Librdkafka.versionComponents
        #expect(!version.isEmpty)
        #expect(Librdkafka.versionNumber > 0)
        // rd_kafka_version_str is "M.m.r" for a release, "M.m.r-RCn" or similar otherwise.
        #expect(version.hasPrefix("\(major).\(minor).\(revision)"),
                "version \(version) vs number 0x\(String(Librdkafka.versionNumber, radix: 16))")
    }

    @Test(arguments: [1, 3])
    func metadataListsEveryBroker(brokers: Int) throws {
        let broker = try EmbeddedBroker(brokers: brokers)
        defer { broker.stop() }

        let listeners = broker.bootstrapServers.split(separator: ",").map(String.init)
        #expect(listeners.count == brokers)
        #expect(listeners.allSatisfy { $0.hasPrefix("127.0.0.1:") })

        let metadata = try KafkaMetadata.fetch(
            bootstrapServers: broker.bootstrapServers, timeout: metadataTimeout, properties: quiet)
        #expect(metadata.brokerIDs == (1...brokers).map { Int32($0) })
        // The advertised listeners are the ones the mock cluster handed out.
        #expect(metadata.brokers.map { "\($0.host):\($0.port)" } == listeners)
        #expect(metadata.brokerIDs.contains(metadata.originatingBrokerID))
    }

    @Test func createdTopicsReportTheirPartitionCounts() throws {
        let broker = try EmbeddedBroker(brokers: 3, topics: [(name: "predictions", partitions: 6)])
        defer { broker.stop() }
        try broker.createTopic("features", partitions: 3, replicationFactor: 3)

        let metadata = try KafkaMetadata.fetch(
            bootstrapServers: broker.bootstrapServers, timeout: metadataTimeout, properties: quiet)
        #expect(metadata.partitionCount(of: "predictions") == 6)
        #expect(metadata.partitionCount(of: "features") == 3)
        #expect(metadata.topics.map(\.name) == ["features", "predictions"])
        #expect(metadata.topics.allSatisfy { $0.error == nil })
    }

    @Test func duplicateTopicIsRejectedByTheBroker() throws {
        let broker = try EmbeddedBroker(topics: [(name: "predictions", partitions: 2)])
        defer { broker.stop() }
        let error = try #require(throws: KafkaError.self) {
            try broker.createTopic("predictions", partitions: 2)
        }
        #expect(error.code == .topicAlreadyExists)
    }

    @Test(arguments: [0, -1])
    func nonPositivePartitionCountIsRejected(partitions: Int) throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        let error = try #require(throws: KafkaError.self) {
            try broker.createTopic("empty", partitions: partitions)
        }
        #expect(error.code == .invalidArgument)
    }

    @Test func zeroBrokersIsRejected() throws {
        let error = try #require(throws: KafkaError.self) {
            _ = try EmbeddedBroker(brokers: 0)
        }
        #expect(error.code == .invalidArgument)
    }

    @Test func stoppedBrokerNoLongerAnswers() throws {
        let broker = try EmbeddedBroker(brokers: 1)
        let bootstrap = broker.bootstrapServers
        // Prove it answered before, so the failure below is caused by stop().
        _ = try KafkaMetadata.fetch(bootstrapServers: bootstrap, timeout: metadataTimeout, properties: quiet)

        broker.stop()
        #expect(!broker.isRunning)

        let clock = ContinuousClock()
        let started = clock.now
        let error = try #require(throws: KafkaError.self) {
            _ = try KafkaMetadata.fetch(bootstrapServers: bootstrap, timeout: .seconds(2), properties: quiet)
        }
        let elapsed = clock.now - started
        #expect([KafkaError.Code.transport, .timedOut, .allBrokersDown].contains(error.code), "\(error)")
        // Not a timing assertion on performance: it checks the timeout is honoured rather than
        // the call hanging, with generous slack for a loaded machine.
        #expect(elapsed < .seconds(10))

        let afterStop = try #require(throws: KafkaError.self) {
            try broker.createTopic("late", partitions: 1)
        }
        #expect(afterStop.code == .state)
    }

    @Test func stopIsIdempotent() async throws {
        let broker = try EmbeddedBroker(brokers: 2)
        broker.stop()
        broker.stop()
        // Concurrent stops race for the same cluster; exactly one destroys it, none crashes.
        let again = try EmbeddedBroker(brokers: 2)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { again.stop() }
            }
        }
        #expect(!broker.isRunning)
        #expect(!again.isRunning)
    }

    @Test(arguments: [
        ("no.such.property", "1", "No such configuration property"),
        ("socket.timeout.ms", "banana", "Invalid value"),
    ])
    func invalidConfigurationCarriesLibrdkafkaMessage(key: String, value: String, expected: String) throws {
        let error = try #require(throws: KafkaError.self) {
            _ = try KafkaMetadata.fetch(bootstrapServers: "127.0.0.1:1", timeout: .milliseconds(100),
                                        properties: [key: value])
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.message.contains(key), "\(error.message)")
        #expect(error.context?.contains(key) == true)
        #expect(error.description.contains(error.message))
    }
}
