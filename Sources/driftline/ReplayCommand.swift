import ArgumentParser
import DriftCore
import DriftEngine

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the drift pipeline over recorded events and write window results.")

    @Option(name: .long, help: "The YAML config.")
    var config: String

    @Option(name: .long, parsing: .upToNextOption, help: "Input files (NDJSON, CSV or recordings; zstd or not), replayed in order as one stream.")
    var input: [String]

    @Option(name: .long, help: "Write window result records here (JSON lines; - for stdout).")
    var results: String?

    @Option(name: .customLong("dead-letter"), help: "Write rejected and late events here (NDJSON).")
    var deadLetter: String?

    @Option(name: .long, help: "Pace by event time: max (default) or a speed-up such as 60x.")
    var speed: String = "max"

    @Flag(help: "Stop at the first bad event with exit code 2.")
    var strict = false

    @Option(name: .customLong("to-topic"), help: "Produce the recorded messages into this topic instead of monitoring them.")
    var toTopic: String?

    @Option(name: .long, help: "Bootstrap servers for --to-topic and --snapshots-topic (default: kafka.brokers of the config).")
    var brokers: String?

    @OptionGroup var monitoring: MonitoringOptions

    @OptionGroup var log: LogOptions

    func validate() throws {
        _ = try parsedSpeed()
    }

    func parsedSpeed() throws -> Double? {
        if speed == "max" { return nil }
        guard speed.hasSuffix("x"), let x = Double(speed.dropLast()), x > 0, x.isFinite else {
            throw ValidationError("--speed must be max or a positive speed-up such as 10x, not \(speed)")
        }
        return x
    }

    func run() throws {
        try Terminal.run {
            let logger = log.logger("driftline.replay")
            let cfg = try DriftlineConfig(contentsOf: config)
            if let toTopic {
                let bar = ProgressBar(enabled: Terminal.stderrIsTerminal)
                let summary = try Reproducer.run(
                    inputs: input, topic: toTopic, bootstrapServers: brokers ?? cfg.kafka.brokers,
                    properties: cfg.kafka.properties, speed: try parsedSpeed(), progress: bar.update)
                bar.finish()
                for w in summary.warnings { logger.warning("\(w)") }
                log.report("produced \(summary.messages) messages into \(toTopic) in \(Double(Int(summary.seconds * 1000)) / 1000) s", to: logger)
                return
            }
            let profile = try cfg.loadProfile()
            let replay = try Replay(config: cfg, profile: profile)
            var options = Replay.Options()
            options.resultsPath = results
            options.deadLetterPath = deadLetter
            options.speed = try parsedSpeed()
            options.strict = strict
            options.logger = logger
            let monitor = try monitoring.start(cfg, profile: profile, brokers: brokers ?? cfg.kafka.brokers, results: results, logger: logger)
            defer { monitor.server?.stop() }
            (options.alerts, options.metrics) = (monitor.alerts, monitor.metrics)
            let interactive = Terminal.stderrIsTerminal
            let bar = ProgressBar(enabled: interactive)
            options.progress = bar.update
            if interactive {
                options.onWindow = { window in
                    let drifted = window.results.filter(\.drift)
                    guard !drifted.isEmpty else { return }
                    bar.finish()
                    Terminal.print(WindowTable.render(window, features: drifted))
                }
            }
            options.onWindow = monitor.snapshots?.hook(after: options.onWindow) ?? options.onWindow
            let summary = try replay.run(inputs: input, options: options)
            try monitor.snapshots?.close()
            bar.finish()
            log.report(summary.render() + (monitor.snapshots.map { "\n" + $0.summary } ?? ""), to: logger)
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
