import ArgumentParser
import DriftEngine

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Tell what a Driftline file is and what it holds.",
        discussion: """
            The kind is told by the file's magic bytes, not its name: a reference profile, \
            a checkpoint, a snapshot (or a directory of snapshots) or a recording (zstd-compressed \
            or not). Prints a table, or with --json one JSON document on stdout. A file that is \
            none of these, or is damaged, gives a one-line error and exit code 1.
            """)

    @Argument(help: "The file (or snapshot directory) to inspect.")
    var file: String

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func run() throws {
        try Terminal.run {
            let inspection = try FileInspection.inspect(path: file)
            let stdout = try FileWriter(path: "-")
            try stdout.write(Array((json ? inspection.json + "\n" : inspection.text).utf8))
            try stdout.close()
        }
    }
}
