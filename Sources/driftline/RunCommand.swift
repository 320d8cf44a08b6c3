import ArgumentParser
import DriftCore
import DriftEngine

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Attach to Kafka: consume the configured topics and monitor them live.",
        discussion: """
            Windows are kept per partition and checkpointed to checkpoint.dir every \
            checkpoint.interval; offsets are committed only after a checkpoint is durable. \
            A restart resumes from the newest checkpoint and rewrites nothing twice. \
            SIGINT/SIGTERM: final checkpoint, offsets committed, exit 0.

            Scale-out: run several `--role worker` processes in the group and one \
            `--role evaluator`. Workers window their partitions, keep each partition's state in \
            scale_out.state_topic and publish partial aggregates to scale_out.partials_topic; \
            the evaluator merges them and writes the results, snapshots and alerts.
            """)

    @Option(name: .long, help: "The YAML config.")
    var config: String

    @Option(name: .long, help: "Write window result records here (JSON lines).")
    var results: String?

    @Option(name: .customLong("dead-letter"), help: "Write rejected and late events here (NDJSON).")
    var deadLetter: String?

    @Option(name: .customLong("until-idle"), help: "Exit after no message for this long (e.g. 5s), closing every window.")
    var untilIdle: String?

    @Option(name: .customLong("max-messages"), help: "Exit after this many messages, closing every window.")
    var maxMessages: Int64?

    @Option(name: .long, help: "all (one process), worker (one of several consumers) or evaluator (merges the workers' partial aggregates).")
    var role: LiveRun.Role = .all

    @Flag(name: .customLong("consume-only"), help: "Measure the consumer alone: count messages without decoding, windows, checkpoints or commits (needs --until-idle).")
    var consumeOnly = false

    @OptionGroup var monitoring: MonitoringOptions

    @OptionGroup var log: LogOptions

    func validate() throws {
        if consumeOnly && untilIdle == nil { throw ValidationError("--consume-only needs --until-idle") }
        if consumeOnly && role != .all { throw ValidationError("--consume-only measures a single process: leave out --role") }
        if role == .worker && (results != nil || monitoring.snapshots != nil || monitoring.snapshotsTopic != nil) {
            throw ValidationError("a worker writes no results or snapshots: give --results and --snapshots to the evaluator")
        }
        if role == .evaluator && deadLetter != nil {
            throw ValidationError("the evaluator reads no events: give --dead-letter to the workers")
        }
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
        if let untilIdle, DurationText.microseconds(untilIdle) == nil {
            throw ValidationError("--until-idle must be a duration such as 500ms, 5s or 2m, not \(untilIdle)")
        }
    }

    func run() throws {
        try Terminal.run {
            StopSignal.install()
            let logger = log.logger("driftline.run")
            let cfg = try DriftlineConfig(contentsOf: config)
            if consumeOnly, let idle = untilIdle.flatMap(DurationText.duration) {
                let r = try LiveRun.consumeOnly(config: cfg, untilIdle: idle)
                let rate = r.activeSeconds > 0 ? Int(Double(r.messages) / r.activeSeconds) : 0
                log.report("consume-only: \(r.messages) messages, \(r.bytes) bytes; \(Double(Int(r.activeSeconds * 1000)) / 1000) s from the first message to the last: \(rate) messages/s", to: logger)
                return
            }
            let profile = try cfg.loadProfile()
            let live = try LiveRun(config: cfg, profile: profile)
            var options = LiveRun.Options()
            options.resultsPath = results
            options.deadLetterPath = deadLetter
            options.untilIdle = untilIdle.flatMap(DurationText.duration)
            options.maxMessages = maxMessages
            options.role = role
            options.logger = logger
            let monitor = try monitoring.start(cfg, profile: profile, brokers: cfg.kafka.brokers, results: results, logger: logger)
            defer { monitor.server?.stop() }
            (options.alerts, options.metrics) = (monitor.alerts, monitor.metrics)
            // Alerts fire once, from the process that sees whole windows.
            if role == .worker { options.alerts = nil }
            options.shouldStop = { StopSignal.requested }
            if Terminal.stderrIsTerminal {
                let status = StatusLine()
                options.status = { s in
                    status.show("\(role == .evaluator ? "partials" : "messages") \(s.messages), lag \(s.totalLag.map(String.init) ?? "-"), windows closed \(s.windowsClosed) (\(s.driftedWindows) drifted), checkpoints \(s.checkpoints)")
                }
                options.onWindow = { window in
                    status.clear()
                    let drifted = window.results.filter(\.drift)
                    guard !drifted.isEmpty else { return }
                    Terminal.print(WindowTable.render(window, features: drifted))
                }
            }
            if let snapshots = monitor.snapshots {
                options.onWindow = snapshots.hook(after: options.onWindow)
                options.beforeCheckpoint = snapshots.flush
            }
            let summary = try live.run(options: options)
            try monitor.snapshots?.close()
            if Terminal.stderrIsTerminal { StatusLine().clear() }
            log.report(summary.render() + (monitor.snapshots.map { "\n" + $0.summary } ?? ""), to: logger)
        }
    }
}

extension LiveRun.Role: ExpressibleByArgument {}
