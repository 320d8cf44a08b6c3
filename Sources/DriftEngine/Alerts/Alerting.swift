import DriftCore
import DriftKafka
import DriftStats
import Logging

/// The alert rules and their sinks, fed with every closed window by `run` and `replay`.
///
/// Sinks: stdout (a human line per change), a JSONL file, a Kafka topic (the JSON line keyed
/// by the alert's fingerprint) and HTTP webhooks (Alertmanager v2). A sink that fails or
/// falls behind never stops the pipeline: Kafka and webhook sinks queue up to a bound and
/// count what they drop. The engine's state and the file's length go into checkpoints, so a
/// restarted run neither forgets a firing alert nor writes a change to the file twice.
public final class Alerting {
    public private(set) var engine: AlertEngine
    let settings: AlertSettings
    let printLine: (String) -> Void
    let logger: Logger
    let resolve: (String) -> String
    var file: FileWriter?
    var producer: KafkaProducer?
    var kafkaTopics: [String] = []
    var webhooks: [WebhookSink] = []
    public private(set) var fired = 0
    public private(set) var resolved = 0
    public private(set) var kafkaDropped = 0

    /// - Parameters:
    ///   - resolvePath: Turns a configured file path into one to open (relative to the config).
    ///   - print: Where stdout sinks write.
    ///   - logger: Where webhook drops (receiver down, queue full) and rules that cannot see
    ///     their metric are reported.
    public init(
        settings: AlertSettings, minCount: Int, kafkaBrokers: String, kafkaProperties: [String: String],
        resolvePath: @escaping (String) -> String, print: @escaping (String) -> Void,
        logger: Logger = Logger(label: "driftline.alerts", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        engine = try AlertEngine(rules: settings.rules, minCount: minCount)
        self.settings = settings
        self.printLine = print
        self.logger = logger
        self.resolve = resolvePath
        for sink in settings.sinks {
            switch sink {
            case .kafka(let topic):
                guard !topic.isEmpty else { throw ConfigError("config: an alert sink `kafka:` needs a topic name") }
                if producer == nil {
                    var properties = kafkaProperties
                    // Alerts must not wait for a slow broker: a full queue drops and counts.
                    properties["queue.buffering.max.messages"] = properties["queue.buffering.max.messages"] ?? "10000"
                    producer = try KafkaProducer(.init(
                        bootstrapServers: kafkaBrokers, properties: properties, enqueueTimeoutMilliseconds: 0))
                }
                kafkaTopics.append(topic)
            case .webhook(let url):
                var options = WebhookSink.Options(url: url)
                options.bearerTokenEnvironment = settings.webhookTokenEnvironment
                let sink = try WebhookSink(options)
                sink.onDrop = { logger.warning("alert webhook: \($0)") }
                webhooks.append(sink)
            case .file(let path):
                guard !path.isEmpty else { throw ConfigError("config: an alert sink `file:` needs a path") }
            case .stdout:
                break
            }
        }
    }

    public var hasRules: Bool { !settings.rules.isEmpty }

    /// Opens the file sink, continuing a file after `length` bytes when resuming a checkpoint.
    public func start(resumingFileAt length: Int64?) throws {
        for sink in settings.sinks {
            guard case .file(let path) = sink, file == nil else { continue }
            let resolved = resolve(path)
            file = try length.map { try FileWriter(path: resolved, resumingAt: $0) } ?? FileWriter(path: resolved)
        }
    }

    /// Evaluates the rules on a closed window and sends the changes to every sink.
    @discardableResult
    public func process(_ window: ClosedWindow, counts: PipelineCounts) throws -> [AlertEvent] {
        let events = engine.evaluate(window, counts: counts)
        for notice in engine.takeNotices() { logger.warning("\(notice)") }
        for event in events {
            if event.state == .firing { fired += 1 } else { resolved += 1 }
            let line = event.jsonLine
            for sink in settings.sinks {
                switch sink {
                case .stdout: printLine(event.humanLine)
                case .file: try file?.writeLine(line)
                case .kafka, .webhook: break
                }
            }
            if let producer {
                for topic in kafkaTopics {
                    do {
                        try producer.send(topic: topic, key: Array(event.fingerprint.utf8), value: Array(line.utf8))
                    } catch {
                        kafkaDropped += 1
                    }
                }
                producer.poll()
            }
            if !webhooks.isEmpty {
                let notice = AlertNotice(
                    labels: event.labels,
                    annotations: ["summary": event.summary, "value": event.value.map(AlertEvent.short) ?? "null"],
                    startsAt: TimestampFormat.rfc3339Milliseconds(event.startsAt),
                    endsAt: event.endsAt.map { TimestampFormat.rfc3339Milliseconds($0) })
                for webhook in webhooks { webhook.send([notice]) }
            }
        }
        return events
    }

    /// Bytes of the alerts file (after ``sync()``), for checkpoints.
    public var fileLength: Int64? { file?.bytesWritten }

    public func sync() throws {
        try file?.sync()
    }

    /// Flushes every sink (the webhooks get up to `timeout` to drain).
    public func close(timeout: Duration = .seconds(5)) throws {
        try file?.close(sync: true)
        file = nil
        try? producer?.flush(timeoutMilliseconds: Int32(timeout.components.seconds * 1000))
        for webhook in webhooks { webhook.close(timeout: timeout) }
    }

    /// Webhook alerts delivered and dropped, summed over the webhook sinks.
    public var webhookCounters: WebhookSink.Counters {
        webhooks.reduce(WebhookSink.Counters()) { total, sink in
            let c = sink.counters
            return WebhookSink.Counters(
                delivered: total.delivered + c.delivered, dropped: total.dropped + c.dropped,
                failedAttempts: total.failedAttempts + c.failedAttempts, queued: total.queued + c.queued)
        }
    }

    public func encodeState(to w: inout ByteWriter) {
        engine.encode(to: &w)
    }

    public func restoreState(from r: inout ByteReader) throws(ByteReaderError) {
        try engine.restore(from: &r)
    }
}

extension DriftlineConfig {
    /// The alert rules and sinks of the config, or `nil` when it has no rules.
    ///
    /// - Parameter print: Where stdout sinks write their lines.
    public func makeAlerting(
        print: @escaping (String) -> Void,
        logger: Logger = Logger(label: "driftline.alerts", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws -> Alerting? {
        guard !alerts.rules.isEmpty else { return nil }
        return try Alerting(
            settings: alerts, minCount: drift.minCount, kafkaBrokers: kafka.brokers, kafkaProperties: kafka.properties,
            resolvePath: { resolve($0) }, print: print, logger: logger)
    }
}

/// What `run` and `replay` do with every closed window, in this order: its result records,
/// the caller's hook (terminal table, snapshots), the alerts it causes, its metrics.
///
/// - Returns: The result records written and the alert changes emitted.
func emitWindow(
    _ w: ClosedWindow, results: FileWriter?, onWindow: ((ClosedWindow) throws -> Void)?, alerts: Alerting?,
    metrics: PipelineMetrics?, counts: PipelineCounts
) throws -> (records: Int, alertChanges: Int) {
    let lines = ResultRecord.lines(for: w)
    for line in lines { try results?.writeLine(line) }
    try onWindow?(w)
    let changes = try alerts?.process(w, counts: counts).count ?? 0
    metrics?.record(w)
    return (lines.count, changes)
}
