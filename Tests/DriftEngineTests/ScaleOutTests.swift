import DriftCore
import DriftEngine
import DriftKafka
import Foundation
import Testing

/// Several `driftline run --role worker` processes and one `--role evaluator` on a 12-partition
/// topic of the embedded broker write exactly the results of `driftline replay` over the same
/// messages, also when a worker is SIGKILLed mid-stream and another one joins.
@Suite(.serialized) struct ScaleOutTests {
    /// The results (and alerts) of one process: `replay` of a recording of the topic, and the
    /// single-process live run.
    func expected(_ topic: LiveTopic) throws -> (results: Data, alerts: Data) {
        let config = try DriftlineConfig(contentsOf: try topic.config(group: "single", state: "state-single"))
        var options = LiveRun.Options()
        options.resultsPath = topic.scratch.file("single.jsonl")
        options.untilIdle = .milliseconds(1500)
        options.alerts = try config.makeAlerting { _ in }
        _ = try LiveRun(config: config, profile: try config.loadProfile()).run(options: options)

        var recordOptions = Recorder.Options(output: topic.scratch.file("traffic.drr"))
        recordOptions.untilIdle = .milliseconds(1500)
        _ = try Recorder.run(config: config, options: recordOptions)
        var replayOptions = Replay.Options()
        replayOptions.resultsPath = topic.scratch.file("replayed.jsonl")
        _ = try Replay(config: config, profile: try config.loadProfile())
            .run(inputs: [topic.scratch.file("traffic.drr")], options: replayOptions)
        let replayed = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("replayed.jsonl")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("single.jsonl"))) == replayed)
        let alerts = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("single-alerts.jsonl")))
        return (replayed, alerts)
    }

    func worker(_ topic: LiveTopic, _ config: String, _ n: Int, untilIdle: String = "5s") throws -> Process {
        try DriftlineBinary.spawn(
            ["run", "--config", config, "--role", "worker", "--until-idle", untilIdle, "--dead-letter", topic.scratch.file("dead-\(n).ndjson")],
            log: topic.scratch.file("worker-\(n).log"))
    }

    func evaluator(_ topic: LiveTopic, _ config: String, results: String, log: String = "evaluator.log") throws -> Process {
        try DriftlineBinary.spawn(
            ["run", "--config", config, "--role", "evaluator", "--results", results, "--until-idle", "40s"],
            log: topic.scratch.file(log))
    }

    func waitForAll(_ processes: [Process], _ topic: LiveTopic) -> [String] {
        processes.enumerated().compactMap { n, p in
            p.waitUntilExit()
            guard p.terminationReason == .exit && p.terminationStatus == 0 else {
                return "process \(n) ended with \(p.terminationStatus)"
            }
            return nil
        }
    }

    func logs(_ topic: LiveTopic) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: topic.scratch.path)) ?? []
        return names.filter { $0.hasSuffix(".log") }.sorted().map { name in
            "== \(name)\n" + ((try? String(contentsOfFile: topic.scratch.file(name), encoding: .utf8)) ?? "")
        }.joined(separator: "\n")
    }

    @Test func threeWorkersAndAnEvaluatorWriteTheReplayResults() throws {
        let topic = try LiveTopic(partitions: 12)
        let expected = try expected(topic)
        #expect(expected.results.count > 10_000)
        // Cooperative-sticky: a joining worker takes partitions without stopping the others'.
        let config = try topic.config(group: "scaled", state: "state-scaled", assignment: "cooperative-sticky")
        let results = topic.scratch.file("scaled.jsonl")
        let processes = try [evaluator(topic, config, results: results)] + (0..<3).map { try worker(topic, config, $0) }
        let failures = waitForAll(processes, topic)
        #expect(failures.isEmpty, "\(failures)\n\(logs(topic))")
        let got = try Data(contentsOf: URL(fileURLWithPath: results))
        #expect(got == expected.results, "\(got.count) vs \(expected.results.count) bytes\n\(logs(topic))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("scaled-alerts.jsonl"))) == expected.alerts)
        // Every partition was windowed by some worker, and each worker had a share.
        let workerLogs = (0..<3).map { (try? String(contentsOfFile: topic.scratch.file("worker-\($0).log"), encoding: .utf8)) ?? "" }
        #expect(workerLogs.allSatisfy { $0.contains("assigned predictions/") }, "\(logs(topic))")
        // The workers rebalanced incrementally.
        #expect(workerLogs.allSatisfy { $0.contains("(COOPERATIVE rebalancing)") }, "\(logs(topic))")
    }

    @Test func aWorkerKilledMidStreamAndAnotherStartedChangeNothing() throws {
        let topic = try LiveTopic(partitions: 12, produce: false)
        let third = topic.lines.count / 3
        try topic.produce(0..<third)
        let config = try topic.config(group: "killed", state: "state-killed", interval: "200ms")
        let results = topic.scratch.file("killed.jsonl")
        var processes = try [evaluator(topic, config, results: results)] + (0..<3).map { try worker(topic, config, $0, untilIdle: "8s") }
        // Wait until every worker holds partitions and has saved state.
        let deadline = Date().addingTimeInterval(40)
        func assignedAll() -> Bool {
            (1...3).allSatisfy { n in
                ((try? String(contentsOfFile: topic.scratch.file("worker-\(n - 1).log"), encoding: .utf8)) ?? "")
                    .components(separatedBy: "assigned predictions/").count > 1
            }
        }
        while Date() < deadline && !assignedAll() { usleep(50_000) }
        #expect(assignedAll(), "\(logs(topic))")
        usleep(1_000_000)
        try topic.produce(third..<(2 * third))
        usleep(300_000)
        kill(processes[2].processIdentifier, SIGKILL)
        processes[2].waitUntilExit()
        #expect(processes[2].terminationReason == .uncaughtSignal)
        processes.remove(at: 2)
        processes.append(try worker(topic, config, 3, untilIdle: "8s"))
        try topic.produce((2 * third)..<topic.lines.count)
        // The evaluator is killed too, once it has written results, and restarted: it resumes
        // from its checkpoint and cuts its files back to it.
        let written = Date().addingTimeInterval(30)
        while Date() < written && ((try? FileManager.default.attributesOfItem(atPath: results)[.size] as? Int) ?? 0) == 0 {
            usleep(50_000)
        }
        usleep(300_000)
        kill(processes[0].processIdentifier, SIGKILL)
        processes[0].waitUntilExit()
        #expect(processes[0].terminationReason == .uncaughtSignal)
        processes[0] = try evaluator(topic, config, results: results, log: "evaluator-restarted.log")
        let failures = waitForAll(processes, topic)
        #expect(failures.isEmpty, "\(failures)\n\(logs(topic))")

        // The reference: one process over all the messages.
        let expected = try expected(topic)
        let got = try Data(contentsOf: URL(fileURLWithPath: results))
        #expect(got == expected.results, "\(got.count) vs \(expected.results.count) bytes\n\(logs(topic))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("killed-alerts.jsonl"))) == expected.alerts)
        // The partitions of the killed worker were resumed from the state topic.
        let log = (try? String(contentsOfFile: topic.scratch.file("worker-3.log"), encoding: .utf8)) ?? ""
        let resumed = log.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: " resumed from killed.state") else { return nil }
            return Int(line[..<range.lowerBound].split(separator: " ").last ?? "")
        }
        #expect(resumed.contains { $0 > 0 }, "\(logs(topic))")
        let restarted = (try? String(contentsOfFile: topic.scratch.file("evaluator-restarted.log"), encoding: .utf8)) ?? ""
        #expect(restarted.contains("resuming from"), "\(logs(topic))")
    }
}
