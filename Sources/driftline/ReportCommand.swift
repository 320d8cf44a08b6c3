import ArgumentParser
import DriftCore
import DriftEngine

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML drift report from snapshots.",
        discussion: """
            One HTML file with no external scripts, styles or fonts: a table of features \
            sorted by drift, and per feature an SVG of the reference against the latest \
            drifted (or last) window and the PSI per window with the threshold and the \
            drifted windows marked. Damaged snapshot files are named on stderr and left out.
            """)

    @Option(name: .long, help: "A snapshot directory (from --snapshots) or file.")
    var snapshots: String

    @Option(name: .long, help: "The HTML file to write.")
    var html: String

    @Option(name: .long, help: "Only windows ending at or after this time (RFC 3339).")
    var from: String?

    @Option(name: .long, help: "Only windows ending at or before this time (RFC 3339).")
    var to: String?

    @Option(name: .customLong("psi-threshold"), help: "The PSI drift threshold to draw.")
    var psiThreshold: Double = 0.2

    @Option(name: .customLong("min-count"), help: "Leave windows with fewer events out of the PSI series (default 100, as drift.min_count).")
    var minCount: Int = 100

    func time(_ text: String?, _ name: String) throws -> EpochMicroseconds? {
        guard let text else { return nil }
        var bytes = text
        guard let t = bytes.withUTF8({ EventTime.parseRFC3339(UnsafeRawBufferPointer($0)) }) else {
            throw ValidationError("--\(name) must be an RFC 3339 time such as 2026-11-27T10:00:00Z, not \(text)")
        }
        return t
    }

    func validate() throws {
        _ = try time(from, "from")
        _ = try time(to, "to")
    }

    func run() throws {
        try Terminal.run {
            let (snapshots, skipped) = SnapshotReader.read(self.snapshots, from: try time(from, "from"), to: try time(to, "to"))
            for s in skipped { Terminal.print("skipped \(s)") }
            guard !snapshots.isEmpty else { throw FileError("\(self.snapshots): no snapshot in range") }
            let writer = try FileWriter(path: html, atomic: true)
            try writer.writeLine(HTMLReport.render(snapshots, psiThreshold: psiThreshold, minCount: minCount))
            try writer.close()
            Terminal.print("wrote \(html): \(snapshots.count) windows")
        }
    }
}
