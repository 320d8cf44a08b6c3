import ArgumentParser
import DriftCore
import DriftEngine

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole pipeline end to end on the embedded broker and the Fixtures traffic.",
        discussion: """
            Starts an embedded Kafka-protocol broker, produces the example fraud-scoring \
            traffic (drift injected halfway) through the Kafka producer, monitors it \
            through the Kafka consumer with checkpoints, prints a drift table per window \
            and writes results, dead letters and checkpoints into --dir.
            """)

    @Option(name: .long, help: "The Fixtures directory (fraud.yaml and traffic/).")
    var fixtures: String = "Fixtures"

    @Option(name: .long, help: "Where to write results, dead letters, the profile and checkpoints.")
    var dir: String = "driftline-demo"

    @OptionGroup var log: LogOptions

    func run() throws {
        try Terminal.run {
            print(DemoTable.header)
            let outcome = try Demo.run(
                fixtures: fixtures, directory: dir, logger: log.logger("driftline.demo"),
                onWindow: { print(DemoTable.row($0)) }, onAlert: { print("  " + $0) })
            let s = outcome.summary
            print("")
            print("\(s.messages) messages over \(outcome.partitions) partitions: \(s.accepted) accepted, \(s.rejected) rejected, \(s.late) late")
            print("\(s.windowsClosed) windows closed, \(s.driftedWindows) with drift; \(s.checkpoints) checkpoints, offsets committed after each")
            print("results      \(outcome.resultsPath) (\(s.resultRecords) records)")
            print("alerts       \(outcome.alertsPath) (\(outcome.alertChanges) changes: firing and resolved)")
            print("dead letters \(outcome.deadLetterPath)")
            print("checkpoints  \(outcome.checkpointDirectory)")
            print("snapshots    \(outcome.directory)/snapshots (driftline inspect FILE)")
            print("profile      \(outcome.profilePath)")
        }
    }
}

/// One line per closed window: its events, how many features drifted, and the worst ones.
enum DemoTable {
    static let header = "window (UTC)                     model       events  drifted  drift (PSI) worst first"

    static func row(_ w: ClosedWindow) -> String {
        let start = TimestampFormat.rfc3339Milliseconds(w.start)
        let end = TimestampFormat.rfc3339Milliseconds(w.end)
        let span = String(start.prefix(16)) + " .. " + String(end.dropFirst(11).prefix(5))
        let drifted = w.results.filter(\.drift).sorted { psi($0) > psi($1) }
        var line = span.padding(33) + w.model.padding(12) + String(w.events).leftPadding(6)
        line += "  " + "\(drifted.count)/\(w.results.count)".leftPadding(7) + "  "
        line += drifted.prefix(4).map { "\(short($0.feature)) \(WindowTable.fmt(psi($0)))" }.joined(separator: ", ")
        if drifted.count > 4 { line += ", ..." }
        if !drifted.isEmpty { line += "  DRIFT" }
        return line
    }

    static func psi(_ r: FeatureResult) -> Double {
        switch r.metrics {
        case .numeric(let m): m.psi ?? 0
        case .categorical(let m): m.psi ?? 0
        }
    }

    static func short(_ path: String) -> String {
        path.hasPrefix("features.") ? String(path.dropFirst(9)) : path
    }
}

extension String {
    func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
