#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftEngine
import DriftKafka
import Foundation
import Synchronization
import Testing

/// `driftline run` stopped by a fault and restarted: the results and alerts must come out byte
/// for byte as an uninterrupted run's (nothing lost, nothing counted twice).
@Suite struct CrashRecoveryTests {
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
