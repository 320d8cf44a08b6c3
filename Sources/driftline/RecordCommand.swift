import ArgumentParser
import DriftEngine

struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record the configured Kafka topics into a recording file for replay.",
        discussion: """
            Every record is kept: topic, partition, offset, timestamp, key, value and \
            headers, zstd-compressed and checksummed. Recording joins the group \
            <kafka.group>-recorder and commits nothing. `driftline replay --input REC` \
            gives the same results as `driftline run` over the same messages; \
            `driftline replay --input REC --to-topic T` produces them again.
            """)

    @Option(name: .long, help: "The YAML config (kafka section).")
    var config: String

    @Option(name: .long, help: "The recording to write.")
    var output: String

    @Option(name: .customLong("until-idle"), help: "Stop after no message for this long (e.g. 5s).")
    var untilIdle: String?

    @Option(name: .customLong("max-messages"), help: "Stop after this many messages.")
    var maxMessages: Int?

    @Option(name: .long, help: "Where to start: earliest (default) or latest.")
    var from: String = "earliest"

    @OptionGroup var log: LogOptions

    func validate() throws {
        if let untilIdle, DurationText.microseconds(untilIdle) == nil {
            throw ValidationError("--until-idle must be a duration such as 500ms, 5s or 2m, not \(untilIdle)")
        }
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
        guard from == "earliest" || from == "latest" else { throw ValidationError("--from must be earliest or latest") }
    }

    func run() throws {
        try Terminal.run {
            StopSignal.install()
            let cfg = try DriftlineConfig(contentsOf: config)
            var options = Recorder.Options(output: output)
            options.untilIdle = untilIdle.flatMap(DurationText.duration)
            options.maxMessages = maxMessages
            options.start = from
            options.shouldStop = { StopSignal.requested }
            let logger = log.logger("driftline.record")
            options.logger = logger
            if Terminal.stderrIsTerminal {
                let line = StatusLine()
                options.status = { s in line.show("recorded \(s.messages) messages, \(s.bytes / 1_000_000) MB from \(s.partitions.count) partitions") }
            }
            let summary = try Recorder.run(config: cfg, options: options)
            if Terminal.stderrIsTerminal { StatusLine().clear() }
            log.report(summary.render(output: output), to: logger)
        }
    }
}
