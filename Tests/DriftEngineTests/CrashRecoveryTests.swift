#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftEngine
import DriftKafka
import Foundation
import Synchronization
import Testing

/// `driftline run` killed with SIGKILL and restarted, and a checkpoint directory that is full:
/// the results and alerts must come out byte for byte as an uninterrupted run's (nothing lost,
/// nothing counted twice), and no unfinished checkpoint may stay visible.
@Suite struct CrashRecoveryTests {
    /// When the first run is killed.
    enum Kill: CustomStringConvertible {
        /// This long after the first checkpoint file appears.
        case after(milliseconds: Int)
        /// A delay drawn from a seed, so a failure can be replayed.
        case seeded(UInt64)
        /// At a point of the checkpoint protocol (`DRIFTLINE_FAULT_KILL`, see FaultInjection).
        case at(String)

        /// SplitMix64's first output, scaled to 0..<800 ms: the debug build needs a few
        /// seconds to consume the topic, so every draw lands in the middle of the work.
        static func delay(seed: UInt64) -> Int {
            var z = seed &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % 800)
        }

        var description: String {
            switch self {
            case .after(let ms): "SIGKILL \(ms) ms after the first checkpoint"
            case .seeded(let seed): "seed \(seed): SIGKILL \(Self.delay(seed: seed)) ms after the first checkpoint"
            case .at(let point): "SIGKILL at \(point)"
            }
        }
    }

    static let kills: [Kill] = [
        .after(milliseconds: 0), .seeded(1), .seeded(2), .seeded(3),
        .at("checkpoint-write:3"), .at("checkpoint-renamed:3"), .at("commit-before:2"), .at("commit-after:2"),
    ]

    /// Every scenario against one topic and one uninterrupted baseline; they run side by side
    /// (each in its own group and state directory) to keep the suite short.
    @Test func killedAndRestartedRunsWriteTheSameResultsAndAlerts() throws {
        // Half an hour before the injected drift and half an hour after: enough windows for
        // alerts to fire and resolve, half the work of the whole stream per run.
        let topic = try LiveTopic(slice: 6_000..<18_000)
        _ = try topic.run(group: "baseline", results: topic.scratch.file("baseline.jsonl"))
        let expected = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("baseline.jsonl")))
        let expectedAlerts = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("baseline-alerts.jsonl")))
        #expect(!expected.isEmpty && !expectedAlerts.isEmpty)

        let outcomes = Mutex<[Int: String]>([:])
        let recoveries = Mutex<[Double]>([])
        let done = DispatchGroup()
        for (n, kill) in Self.kills.enumerated() {
            print("CrashRecoveryTests: scenario \(n): \(kill)")
            done.enter()
            Thread.detachNewThread {
                let outcome: String
                do {
                    outcome = try killAndRestart(
                        topic, group: "killed\(n)", kill: kill, expected: expected, expectedAlerts: expectedAlerts
                    ) { seconds in recoveries.withLock { $0.append(seconds) } }
                } catch {
                    outcome = "\(error)"
                }
                outcomes.withLock { $0[n] = outcome }
                done.leave()
            }
        }
        done.wait()
        // Reported, not asserted: the README's recovery time.
        let times = recoveries.withLock { $0 }.sorted()
        if let first = times.first, let last = times.last {
            print("CrashRecoveryTests: restart to caught up (restart's wall time less its idle wait): \(String(format: "%.1f–%.1f s", first, last))")
        }
        for (n, kill) in Self.kills.enumerated() {
            #expect(outcomes.withLock { $0[n] } == "identical", "\(kill)")
        }
    }

    /// Runs `driftline run`, kills it, checks that the kill came where it was meant to, runs it
    /// again to the end and compares the outputs with the baseline's.
    ///
    /// - Returns: "identical", or what went wrong.
    /// - Parameter recovered: Called with the seconds from the restart to the end of its
    ///   re-reading (its wall time less the idle wait).
    func killAndRestart(
        _ topic: LiveTopic, group: String, kill: Kill, expected: Data, expectedAlerts: Data, recovered: (Double) -> Void
    ) throws -> String {
        let config = try topic.config(group: group, state: "state-\(group)", interval: "50ms")
        let results = topic.scratch.file("\(group).jsonl")
        let state = topic.scratch.file("state-\(group)")
        let arguments = ["run", "--config", config, "--results", results, "--until-idle", "1500ms"]
        let first: DriftlineChild
        switch kill {
        case .after, .seeded:
            first = try DriftlineChild(arguments)
            first.wait(upTo: 30) { FileManager.default.fileExists(atPath: state + "/checkpoint-000000000001.drc") }
            let delay = if case .after(let ms) = kill { ms } else if case .seeded(let seed) = kill { Kill.delay(seed: seed) } else { 0 }
            usleep(useconds_t(delay * 1000))
            Glibc.kill(first.pid, SIGKILL)
        case .at(let point):
            first = try DriftlineChild(arguments, environment: ["DRIFTLINE_FAULT_KILL": point])
        }
        first.wait()
        guard first.process.terminationReason == .uncaughtSignal, first.process.terminationStatus == SIGKILL else {
            return "the first run ended before it was killed: \(first.stderr)"
        }
        // The kill must interrupt real work: some results written, not all.
        let atKill = (try? FileManager.default.attributesOfItem(atPath: results)[.size] as? Int) ?? 0
        guard atKill < expected.count else { return "the first run had finished its work when it was killed" }
        if case .at(let point) = kill, let wrong = try killPointProblem(point, topic: topic, group: group, state: state) {
            return wrong
        }

        let restarted = Date()
        let second = try DriftlineChild(arguments)
        second.wait()
        guard second.process.terminationStatus == 0 else { return "the restart exited with \(second.process.terminationStatus): \(second.stderr)" }
        recovered(Date().timeIntervalSince(restarted) - 1.5)
        let got = try Data(contentsOf: URL(fileURLWithPath: results))
        guard got == expected else { return "results differ: \(got.count) vs \(expected.count) bytes" }
        let alerts = try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("\(group)-alerts.jsonl")))
        guard alerts == expectedAlerts else { return "alerts differ: \(alerts.count) vs \(expectedAlerts.count) bytes" }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: state).filter { !Self.isCheckpointName($0) }
        guard leftovers.isEmpty else { return "left in \(state) after the restart: \(leftovers)" }
        return "identical"
    }

    static func isCheckpointName(_ name: String) -> Bool {
        name.count == 27 && name.hasPrefix("checkpoint-") && name.hasSuffix(".drc") && name.dropFirst(11).prefix(12).allSatisfy(\.isNumber)
    }

    /// What the state directory and the committed offsets must look like right after a kill at
    /// `point` (see FaultInjection); `nil` when they do.
    func killPointProblem(_ point: String, topic: LiveTopic, group: String, state: String) throws -> String? {
        let names = try FileManager.default.contentsOfDirectory(atPath: state).sorted()
        let store = try CheckpointStore(directory: state)
        let sequences = store.files().map(\.sequence)
        func positions(_ sequence: UInt64) throws -> [String: Int64] {
            let path = store.files().first { $0.sequence == sequence }!.path
            return try Checkpoint(fileBytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))).positions
        }
        func committed() throws -> [String: Int64] {
            let reader = try KafkaConsumer(.init(
                bootstrapServers: topic.broker.bootstrapServers, groupID: group, topics: [], properties: ["log_level": "0"]))
            let offsets = try reader.committed((0..<topic.partitions).map { TopicPartition(topic.topic, Int32($0)) })
            return Dictionary(uniqueKeysWithValues: offsets.map { ($0.key.description, $0.value) })
        }
        switch point {
        case "checkpoint-write:3":
            // Checkpoint 3 written to its temporary file only.
            guard sequences == [2, 1], names.contains(where: { $0.hasPrefix("checkpoint-000000000003.drc.tmp-") }) else {
                return "after \(point): \(names)"
            }
        case "checkpoint-renamed:3":
            // Renamed into place, the oldest not yet removed.
            guard sequences == [3, 2, 1], names.count == 3 else { return "after \(point): \(names)" }
        case "commit-before:2":
            // Checkpoint 2 durable, the offsets committed still checkpoint 1's.
            guard sequences == [2, 1] else { return "after \(point): \(names)" }
            let (c, p1, p2) = (try committed(), try positions(1), try positions(2))
            guard c == p1, c != p2 else { return "after \(point): committed \(c), checkpoint 1 \(p1), checkpoint 2 \(p2)" }
        case "commit-after:2":
            guard sequences == [2, 1] else { return "after \(point): \(names)" }
            let (c, p2) = (try committed(), try positions(2))
            guard c == p2 else { return "after \(point): committed \(c), checkpoint 2 \(p2)" }
        default:
            return "no expectation for \(point)"
        }
        return nil
    }

    /// A full disk under the checkpoint directory: `driftline run` starts with a file-size limit
    /// of 0, so every write to a regular file fails with EFBIG as it would with ENOSPC (SIGXFSZ
    /// ignored), and writes results and alerts to stdout (pipes are not limited). A tmpfs would
    /// need mount rights a CI runner may not have; the limit works for any user. The policy:
    /// the run goes on without checkpoints, says so in one line, commits no offset and counts
    /// the failures in `driftline_checkpoint_failures_total`; once there is room again the next
    /// checkpoint is written and the offsets are committed.
    @Test func aFullDiskStopsCheckpointsAndCommitsButNotTheRun() throws {
        let topic = try LiveTopic(slice: 6_000..<18_000)
        _ = try topic.run(group: "baseline", results: topic.scratch.file("baseline.jsonl"))
        let expected = try String(contentsOfFile: topic.scratch.file("baseline.jsonl"), encoding: .utf8)
        let expectedAlerts = try String(contentsOfFile: topic.scratch.file("baseline-alerts.jsonl"), encoding: .utf8)
        let config = try topic.config(group: "full", state: "state-full", interval: "100ms")
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "    - file: \(topic.scratch.file("full-alerts.jsonl"))", with: "    - stdout: true")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let state = topic.scratch.file("state-full")
        let port = try freeLoopbackPort()
        let run = try DriftlineChild(
            ["run", "--config", config, "--results", "-", "--until-idle", "5s", "--metrics-listen", "127.0.0.1:\(port)"],
            fileSizeLimit: 0)
        func metric(_ name: String) -> Double? {
            guard let (status, body) = try? httpGet(port, "/metrics"), status == 200 else { return nil }
            let line = body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.map { Double($0.split(separator: " ").last!) ?? -1 } ?? 0  // a counter not yet raised is 0
        }
        func committed() throws -> [TopicPartition: Int64] {
            let reader = try KafkaConsumer(.init(
                bootstrapServers: topic.broker.bootstrapServers, groupID: "full", topics: [], properties: ["log_level": "0"]))
            return try reader.committed((0..<topic.partitions).map { TopicPartition(topic.topic, Int32($0)) })
        }

        // Every message read, several checkpoints failed.
        let consumed = run.wait(upTo: 60) {
            metric("driftline_events_read_total") == Double(topic.lines.count) && (metric("driftline_checkpoint_failures_total") ?? 0) >= 2
        }
        try #require(consumed, "\(run.stderr)")
        let failures = run.stderr.split(separator: "\n").filter { $0.contains("checkpoint failed") }
        #expect(failures.count == 1, "one line for the streak of failures: \(failures)")
        #expect(failures.first?.contains("\(state)/checkpoint-000000000001.drc: File too large") == true, "\(failures)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state) == [], "nothing visible, not even a partial file")
        #expect(try committed().isEmpty)
        #expect(metric("driftline_checkpoints_total") == 0)

        // Room again: the next checkpoint is written, offsets committed, the run ends normally.
        try #require(run.liftFileSizeLimit())
        let lifted = Date()
        let recovered = run.wait(upTo: 10) { run.stderr.contains("failed attempts; offsets are committed again") }
        print("CrashRecoveryTests: first checkpoint \(String(format: "%.2f", Date().timeIntervalSince(lifted))) s after the disk had room again")
        run.wait()
        #expect(recovered, "\(run.stderr)")
        #expect(run.process.terminationStatus == 0)
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.joined(separator: "\n") + "\n" == expected, "standard output holds the results only")
        // With the results on standard output, the stdout sink's lines go to standard error.
        let alertLines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("FIRING") || $0.hasPrefix("RESOLVED") }
        #expect(alertLines.count == expectedAlerts.split(separator: "\n").count, "one line per alert change")
        #expect(try committed().values.reduce(0, +) == Int64(topic.lines.count))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state).allSatisfy(Self.isCheckpointName))
    }

    /// A full disk under the results file stops the run with one line and exit status 1 (it
    /// used to crash on the way out); a restart with room again catches up to the same results.
    @Test func aFullDiskUnderTheResultsStopsTheRunAndARestartCatchesUp() throws {
        let topic = try LiveTopic(slice: 6_000..<18_000)
        _ = try topic.run(group: "baseline", results: topic.scratch.file("baseline.jsonl"))
        let config = try topic.config(group: "stopped", state: "state-stopped", interval: "100ms")
        let results = topic.scratch.file("stopped.jsonl")
        let arguments = ["run", "--config", config, "--results", results, "--until-idle", "1500ms"]
        // 16 KiB: less than the results (~86 KB), more than the alerts.
        let full = try DriftlineChild(arguments, fileSizeLimit: 16 << 10)
        full.wait()
        #expect(full.process.terminationReason == .exit)
        #expect(full.process.terminationStatus == 1)
        let lastLine = full.stderr.split(separator: "\n").last.map(String.init)
        #expect(lastLine == "driftline: cannot write \(results): File too large", "\(full.stderr)")

        let restart = try DriftlineChild(arguments)
        restart.wait()
        #expect(restart.process.terminationStatus == 0, "\(restart.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: results)) == Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("baseline.jsonl"))))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("stopped-alerts.jsonl")))
                == Data(contentsOf: URL(fileURLWithPath: topic.scratch.file("baseline-alerts.jsonl"))))
    }
}
