import ArgumentParser
import DriftEngine

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Build a reference profile from recorded events (NDJSON or CSV, zstd or not).")

    @Option(name: .long, help: "The YAML config (input paths, bins).")
    var config: String

    @Option(name: .long, parsing: .upToNextOption, help: "Input files, read in order.")
    var input: [String]

    @Option(name: .long, help: "Where to write the profile.")
    var output: String

    @Option(name: .customLong("dead-letter"), help: "Write rejected lines here (NDJSON).")
    var deadLetter: String?

    @Flag(help: "Stop at the first bad event with exit code 2.")
    var strict = false

    @OptionGroup var log: LogOptions

    func run() throws {
        try Terminal.run {
            let logger = log.logger("driftline.profile")
            let cfg = try DriftlineConfig(contentsOf: config)
            let bar = ProgressBar(enabled: Terminal.stderrIsTerminal)
            let summary = try ProfileBuild.run(
                config: cfg, inputs: input, output: output, deadLetterPath: deadLetter, strict: strict,
                progress: bar.update)
            bar.finish()
            log.report(summary.render(output: output), to: logger)
        }
    }
}
