import DriftCore
import DriftEngine
import DriftKafka
import Foundation
import Synchronization
import Testing

/// Faults injected into the embedded broker while `driftline run` consumes and the traffic is
/// still being produced: the run must end with exactly the results of an undisturbed run over
/// the same messages (nothing lost, nothing counted twice) and commit every offset.
@Suite struct KafkaFaultTests {
    struct Outcome {
        var faulted: LiveSummary
        var faultedResults: Data
        var baselineResults: Data
        var committed: Int64
    }

    /// Starts a live run, produces the traffic in 16 slices while it consumes, calls `inject`
    /// after the sixth slice, then compares with a run of another group over the finished topic.
    func scenario(brokers: Int = 1, _ name: String = #function, inject: (LiveTopic) throws -> Void) throws -> Outcome {
        let topic = try LiveTopic(brokers: brokers, produce: false)
        let config = try DriftlineConfig(contentsOf: try topic.config(group: "faulted", state: "state-faulted", interval: "200ms"))
        let profile = try config.loadProfile()
        let total = topic.lines.count
        let outcome = Mutex<Result<LiveSummary, any Error>?>(nil)
        let finished = Mutex<Date?>(nil)
        let consumed = Mutex<Int64>(0)
        let runner = Thread {
            var options = LiveRun.Options()
            options.resultsPath = topic.scratch.file("faulted.jsonl")
            options.maxMessages = Int64(total)
            options.status = { summary in consumed.withLock { $0 = summary.messages } }
            // A member that waits out a dead broker must not be thrown out of the group.
            options.extraProperties = ["session.timeout.ms": "30000"]
            let result = Result { try LiveRun(config: config, profile: profile).run(options: options) }
            finished.withLock { $0 = Date() }
            outcome.withLock { $0 = result }
        }
        runner.start()
        let slices = 16
        for k in 0..<slices {
            try topic.produce(total * k / slices..<total * (k + 1) / slices)
            // The fault must hit a member that consumes, not one still joining the group (the
            // embedded broker's first join takes ~3 s): go on once the first slice is read.
            if k == 0 {
                let joined = Date().addingTimeInterval(30)
                while consumed.withLock({ $0 }) == 0 && Date() < joined { usleep(50_000) }
            }
            if k == 5 { try inject(topic) }
            usleep(100_000)
        }
        let produced = Date()
        let deadline = Date().addingTimeInterval(90)
        while outcome.withLock({ $0 == nil }) && Date() < deadline { usleep(50_000) }
        let faulted = try #require(try outcome.withLock { $0 }?.get())
        // Reported, not asserted: the README's recovery time (the run ends at its last message).
        if let end = finished.withLock({ $0 }) {
            print("KafkaFaultTests: \(name) caught up \(String(format: "%.2f", max(0, end.timeIntervalSince(produced)))) s after the last message was produced")
        }

        let baselineConfig = try DriftlineConfig(contentsOf: try topic.config(group: "baseline", state: "state-baseline"))
        var options = LiveRun.Options()
        options.resultsPath = topic.scratch.file("baseline.jsonl")
        options.untilIdle = .milliseconds(1500)
        _ = try LiveRun(config: baselineConfig, profile: profile).run(options: options)

        let reader = try KafkaConsumer(.init(
            bootstrapServers: topic.broker.bootstrapServers, groupID: "faulted", topics: [], properties: ["log_level": "0"]))
        let committed = try reader.committed((0..<topic.partitions).map { TopicPartition(topic.topic, Int32($0)) })
        return Outcome(
            faulted: faulted,
            faultedResults: try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("faulted.jsonl"))),
            baselineResults: try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("baseline.jsonl"))),
            committed: committed.values.reduce(0, +))
    }

    func expectExactlyOnce(_ o: Outcome, total: Int = 24_008) {
        #expect(o.faulted.messages == Int64(total))
        #expect(!o.baselineResults.isEmpty)
        #expect(o.faultedResults == o.baselineResults)
        #expect(o.committed == Int64(total))
    }

    @Test func brokerDownForTenSeconds() throws {
        let o = try scenario { topic in
            try topic.broker.setBrokerDown(1)
            sleep(10)
            try topic.broker.setBrokerUp(1)
        }
        expectExactlyOnce(o)
        #expect(o.faulted.kafkaErrors > 0, "the outage was seen")
    }

    @Test func offsetCommitsAnsweredNotCoordinator() throws {
        let o = try scenario { topic in
            try topic.broker.failNextRequests(.offsetCommit, with: Array(repeating: .notCoordinator, count: 4))
        }
        expectExactlyOnce(o)
    }

    @Test func fetchErrorsAndASlowBroker() throws {
        let o = try scenario { topic in
            try topic.broker.failNextRequests(.fetch, with: [.notLeaderForPartition, .requestTimedOut, .unknownTopicOrPartition, .requestTimedOut])
            try topic.broker.setRoundTrip(broker: 1, milliseconds: 300)
            usleep(1_500_000)
            try topic.broker.setRoundTrip(broker: 1, milliseconds: 0)
        }
        expectExactlyOnce(o)
    }

    @Test func partitionLeadersMove() throws {
        let o = try scenario(brokers: 3) { topic in
            for p in 0..<topic.partitions {
                try topic.broker.setPartitionLeader(topic: topic.topic, partition: p, broker: 1 + (p + 1) % 3)
            }
        }
        expectExactlyOnce(o)
    }
}
