#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import DriftCore
import DriftStats
import Logging

/// Thrown by `--strict` at the first unusable event.
public struct StrictModeStop: Error, CustomStringConvertible {
    public let source: String
    public let position: Int64
    public let reason: RejectReason
    public var description: String { "\(source):\(position): \(reason.rawValue) (--strict stops at the first bad event)" }
}

/// Counts of a replay, for its closing summary.
public struct ReplaySummary: Sendable {
    public var linesRead: Int64 = 0
    public var headerLines: Int64 = 0
    public var accepted: Int64 = 0
    public var rejectedByReason: [RejectReason: Int64] = [:]
    public var late: Int64 = 0
    public var referenceEvents: Int64 = 0
    public var windowsClosed = 0
    public var driftedWindows = 0
    public var resultRecords = 0
    public var inputBytes: Int64 = 0
    /// From the start to the last result written; the time alert webhooks are then given
    /// to deliver what is left (at most 5 s) is not in it.
    public var seconds: Double = 0
    /// Things the user should know about the inputs (a recording cut short...).
    public var warnings: [String] = []
    /// Alert state changes (firing and resolved) emitted.
    public var alertChanges = 0

    public var rejected: Int64 { rejectedByReason.values.reduce(0, +) }

    /// The closing lines printed on stderr.
    public func render() -> String {
        var s = "lines \(linesRead): accepted \(accepted), rejected \(rejected)"
        if headerLines > 0 { s += ", csv header \(headerLines)" }
        if referenceEvents > 0 { s += " (\(referenceEvents) of the accepted went to the stream reference)" }
        if late > 0 { s += "; \(late) of the accepted arrived late (dead letters)" }
        for (reason, n) in rejectedByReason.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            s += "\n  rejected \(reason.rawValue): \(n)"
        }
        s += "\nwindows closed \(windowsClosed) (\(driftedWindows) with drift), result records \(resultRecords)"
        if alertChanges > 0 { s += ", alert changes \(alertChanges)" }
        if seconds > 0 {
            let rate = Double(accepted) / seconds
            s += "\n\(String(format3(seconds))) s, \(Int(rate)) events/s, \(Int(Double(inputBytes) / seconds / 1e6)) MB/s"
        }
        return s
    }

    func format3(_ x: Double) -> String {
        let scaled = (x * 1000).rounded() / 1000
        return String(scaled)
    }
}

/// Runs the drift pipeline over recorded files: decode, window, compare with the
/// reference, write results and dead letters.
public final class Replay {
    public struct Options {
        public var resultsPath: String?
        public var deadLetterPath: String?
        /// Event-time speed-up over wall-clock time; `nil` is as fast as possible.
        public var speed: Double?
        public var strict = false
        /// Called after every chunk with (bytes read, total bytes, events accepted so far).
        public var progress: ((Int64, Int64, Int64) -> Void)?
        /// Called with every closed window (for the terminal table, snapshots).
        public var onWindow: ((ClosedWindow) throws -> Void)?
        /// Alert rules and sinks, fed with every closed window.
        public var alerts: Alerting?
        /// Prometheus metrics, updated on every closed window.
        public var metrics: PipelineMetrics?
        /// Where the replay reports what the user should know about the inputs (as it happens;
        /// ``ReplaySummary/warnings`` keeps them too).
        public var logger = Logger(label: "driftline.replay", factory: { _ in SwiftLogNoOpLogHandler() })
        public init() {}
    }

    public let config: DriftlineConfig
    public let spec: WindowSpec
    let profile: ReferenceProfile?

    /// - Parameter profile: The reference; `nil` when the config takes it from the stream.
    public init(config: DriftlineConfig, profile: ReferenceProfile?) throws {
        self.config = config
        guard let spec = WindowSpec(
            size: config.window.sizeMicroseconds, slide: config.window.slideMicroseconds,
            lateness: config.window.latenessMicroseconds)
        else { throw ConfigError("config: `window.size` must be a multiple of `window.slide`") }
        self.spec = spec
        if profile == nil && config.reference.fromStreamMicroseconds == nil {
            throw ConfigError("config: `reference` needs `profile` or `from_stream`")
        }
        self.profile = profile
    }

    var decision: DriftDecision {
        DriftDecision(psi: config.drift.psi, pValue: config.drift.ksPValue, minCount: config.drift.minCount)
    }

    var binning: BinningSettings {
        BinningSettings(psiBins: config.reference.psiBins, ksBins: config.reference.ksBins, topK: config.reference.topK)
    }

    /// Replays the inputs in order as one stream.
    public func run(inputs: [String], options: Options) throws -> ReplaySummary {
        let recordings = inputs.filter { Recording.isRecording(path: $0) }
        if !recordings.isEmpty {
            if let other = inputs.first(where: { !recordings.contains($0) }) {
                throw FileError("\(other) is not a recording: recordings cannot be replayed together with NDJSON or CSV files")
            }
            return try runRecordings(recordings, options: options)
        }
        let clock = ContinuousClock()
        let started = clock.now
        var summary = ReplaySummary()
        let (results, deadLetters) = try openOutputs(options)
        // Stopped by an error (`--strict` included): what was written so far, the offending
        // event's dead letter among it, still reaches the files.
        defer { closeQuietly(results, deadLetters) }
        let schema = config.input
        var aggregator = profile.map { WindowAggregator(spec: spec, schema: schema, profile: $0, decision: decision) }
        // Stream reference (reference.from_stream): events before referenceEnd build it.
        var referenceBuilder: ReferenceBuilder? = aggregator == nil ? ReferenceBuilder(schema: schema, binning: binning) : nil
        var referenceEnd: EpochMicroseconds?
        var held = EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count)
        var streamMax: EpochMicroseconds = .min
        var batch = EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count)
        var pacer = options.speed.map(Pacer.init)
        let totalBytes = Self.totalBytes(inputs)
        var bytesBefore: Int64 = 0

        // Decoded but rejected for a timestamp too far in the future.
        var futureRejected: Int64 = 0
        // Lines read, late and rejected so far, for alert rules over rates.
        var running = PipelineCounts()
        func emit(_ windows: [ClosedWindow]) throws {
            try self.emit(windows, results: results, summary: &summary, options: options, counts: running)
        }

        /// The dead letter of row `row` of `b`, with its line when the reader still holds it
        /// (`lineText`); `--strict` stops there.
        func writeDeadLetter(
            _ b: EventBatch, _ row: Int, _ reason: RejectReason, source: String, lineText: (Int64) -> UnsafeRawBufferPointer?
        ) throws {
            try deadLetters.write(
                source: source, position: b.positions[row], reason: reason,
                raw: lineText(b.positions[row]) ?? UnsafeRawBufferPointer(start: nil, count: 0), eventTime: b.timestamps[row])
            if options.strict { throw StrictModeStop(source: source, position: b.positions[row], reason: reason) }
        }

        /// - Parameter lineText: The text of an event's line, for its dead letter, when the
        ///   reader still holds it (the batch was just read).
        func feed(_ b: EventBatch, source: String, lineText: (Int64) -> UnsafeRawBufferPointer? = { _ in nil }) throws {
            // Move the aggregator out while it works: a copy left behind would make
            // every mutation copy its open windows' summaries (copy on write).
            guard var agg = aggregator.take() else { return }
            var lateError: Error?
            func deadLetter(_ row: Int, _ reason: RejectReason) {
                do {
                    try writeDeadLetter(b, row, reason, source: source, lineText: lineText)
                } catch {
                    if lateError == nil { lateError = error }
                }
            }
            agg.futureLimit = config.window.futureLimit()
            agg.maxModels = schema.maxModels
            agg.add(b, late: { row in
                summary.late += 1
                deadLetter(row, .late)
            }, future: { row in
                futureRejected += 1
                summary.rejectedByReason[.futureTimestamp, default: 0] += 1
                deadLetter(row, .futureTimestamp)
            })
            let ready = agg.closeReady()
            aggregator = agg
            if let lateError { throw lateError }
            try emit(ready)
        }

        /// Routes a decoded batch to the stream reference, the held-back events, or the windows.
        func route(_ b: EventBatch, source: String, lineText: (Int64) -> UnsafeRawBufferPointer?) throws {
            // Moved out while it grows (see `feed`), and put back unless frozen below.
            guard var builder = referenceBuilder.take() else {
                try feed(b, source: source, lineText: lineText)
                return
            }
            var referenceRows: [Int] = []
            // The reference is frozen at the event that moves the watermark past its end,
            // wherever the batches are cut: the events after it go to the windows.
            var frozenAt: Int?
            // Rejected as the windows reject them: one broken clock must neither start the
            // reference period nor end it early.
            let newest = spec.newestAccepted(futureLimit: config.window.futureLimit())
            for i in 0..<b.count {
                let t = b.timestamps[i]
                if t > newest {
                    futureRejected += 1
                    summary.rejectedByReason[.futureTimestamp, default: 0] += 1
                    try writeDeadLetter(b, i, .futureTimestamp, source: source, lineText: lineText)
                    continue
                }
                if referenceEnd == nil { referenceEnd = t &+ config.reference.fromStreamMicroseconds! }
                streamMax = max(streamMax, t)
                if t < referenceEnd! { referenceRows.append(i) } else { held.appendRow(i, of: b) }
                if streamMax &- spec.lateness >= referenceEnd! {
                    frozenAt = i
                    break
                }
            }
            if referenceRows.count == b.count {
                builder.add(b)
            } else if !referenceRows.isEmpty {
                var part = EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count)
                for i in referenceRows { part.appendRow(i, of: b) }
                builder.add(part)
            }
            summary.referenceEvents += Int64(referenceRows.count)
            guard let frozenAt else {
                referenceBuilder = builder
                return
            }
            aggregator = WindowAggregator(spec: spec, schema: schema, profile: builder.build(), decision: decision)
            var forWindows = held
            held.removeAll()
            for i in (frozenAt + 1)..<b.count { forWindows.appendRow(i, of: b) }
            try feed(forWindows, source: source)
        }

        for path in inputs {
            let reader = try EventReader(path: path, schema: schema, limits: config.limits)
            var more = true
            while more {
                batch.removeAll()
                more = try reader.next(into: &batch) { r in
                    try deadLetters.write(source: path, position: r.position, reason: r.reason, raw: r.raw)
                    if options.strict { throw StrictModeStop(source: path, position: r.position, reason: r.reason) }
                }
                if pacer != nil, let last = batch.timestamps.last, let first = batch.timestamps.first {
                    _ = pacer!.due(first, now: clock.now)
                    let due = pacer!.due(last, now: clock.now)
                    if due > clock.now { try? await_sleep(until: due, clock: clock) }
                }
                running = PipelineCounts(
                    messages: summary.linesRead + reader.linesRead, late: summary.late, rejected: summary.rejected + reader.rejected)
                try route(batch, source: path, lineText: reader.lineText)
                options.progress?(bytesBefore + reader.lines.source.fileBytesRead, totalBytes, summary.accepted + reader.accepted)
            }
            if let warning = reader.unusedWarning {
                options.logger.warning("\(warning)")
                summary.warnings.append(warning)
            }
            summary.linesRead += reader.linesRead
            summary.headerLines += reader.headerLines
            summary.accepted += reader.accepted
            for (k, v) in reader.rejectedByReason { summary.rejectedByReason[k, default: 0] += v }
            bytesBefore += reader.lines.source.fileBytesRead
        }
        // End of input: a stream reference that never saw its end is frozen as it is.
        if let builder = referenceBuilder {
            aggregator = WindowAggregator(spec: spec, schema: schema, profile: builder.build(), decision: decision)
            referenceBuilder = nil
            let rest = held
            try feed(rest, source: inputs.last ?? "-")
        }
        summary.accepted -= futureRejected
        running = PipelineCounts(messages: summary.linesRead, late: summary.late, rejected: summary.rejected)
        if var agg = aggregator.take() {
            try emit(agg.closeAll())
            aggregator = agg
        }
        try results?.close()
        try deadLetters.close()
        summary.inputBytes = bytesBefore
        summary.seconds = (clock.now - started).seconds
        try options.alerts?.close()
        return summary
    }
}

extension Replay {
    /// Replays recordings of Kafka traffic exactly as `driftline run` processed the same
    /// messages: per-partition windows, partitions registered when they were assigned.
    func runRecordings(_ inputs: [String], options: Options) throws -> ReplaySummary {
        guard let profile else {
            throw ConfigError("config: replaying a recording needs `reference.profile`; `from_stream` works with NDJSON and CSV inputs")
        }
        let clock = ContinuousClock()
        let started = clock.now
        var summary = ReplaySummary()
        let (results, deadLetters) = try openOutputs(options)
        // Stopped by an error (`--strict` included): what was written so far, the offending
        // event's dead letter among it, still reaches the files.
        defer { closeQuietly(results, deadLetters) }
        let schema = config.input
        var aggregator = PartitionedAggregator(spec: spec, schema: schema, profile: profile, decision: decision)
        aggregator.maxModels = schema.maxModels
        var pending = PartitionBatches(schema: schema, limits: config.limits)
        var pacer = options.speed.map(Pacer.init)
        let totalBytes = Self.totalBytes(inputs)
        var bytesBefore: Int64 = 0
        for path in inputs {
            let reader = try RecordingReader(path: path)
            var newestTimestamp: Int64?
            while try reader.read({ entry in
                switch entry {
                case .assignment(let partitions):
                    for tp in partitions {
                        let s = pending.slot(tp).slot
                        aggregator.register(pending.names[s])
                    }
                case .message(let m):
                    let s = pending.slot(m.topicPartition).slot
                    summary.linesRead += 1
                    // Decoded as `run` decodes them.
                    if let reason = pending.decode(m.value, position: m.offset, slot: s) {
                        summary.rejectedByReason[reason, default: 0] += 1
                        try deadLetters.write(source: "\(path):\(pending.names[s])", position: m.offset, reason: reason, raw: m.value)
                        if options.strict { throw StrictModeStop(source: "\(path):\(pending.names[s])", position: m.offset, reason: reason) }
                    } else {
                        summary.accepted += 1
                    }
                    if let t = m.timestamp { newestTimestamp = max(newestTimestamp ?? t, t) }
                case .end:
                    break
                }
            }) {
                if pacer != nil, let t = newestTimestamp {
                    // Record timestamps are in milliseconds.
                    let due = pacer!.due(t &* 1000, now: clock.now)
                    if due > clock.now { try? await_sleep(until: due, clock: clock) }
                }
                aggregator.futureLimit = config.window.futureLimit()
                let (late, future) = try pending.feed(&aggregator, deadLetters: deadLetters) { "\(path):\($0)" }
                summary.late += late
                if future > 0 {
                    summary.accepted -= future
                    summary.rejectedByReason[.futureTimestamp, default: 0] += future
                }
                if options.strict && late > 0 {
                    throw StrictModeStop(source: path, position: 0, reason: .late)
                }
                try emit(
                    aggregator.closeReady(), results: results, summary: &summary, options: options,
                    counts: PipelineCounts(messages: summary.linesRead, late: summary.late, rejected: summary.rejected))
                options.progress?(bytesBefore + reader.fileBytesRead, totalBytes, summary.accepted)
            }
            if reader.truncated || !reader.endedCleanly {
                let warning = "\(path) ends without its end entry (the recorder did not stop cleanly); its \(reader.entries) complete entries were replayed"
                summary.warnings.append(warning)
                options.logger.warning("\(warning)")
            }
            bytesBefore += reader.fileBytesRead
        }
        try emit(
            aggregator.closeAll(), results: results, summary: &summary, options: options,
            counts: PipelineCounts(messages: summary.linesRead, late: summary.late, rejected: summary.rejected))
        try results?.close()
        try deadLetters.close()
        summary.inputBytes = bytesBefore
        summary.seconds = (clock.now - started).seconds
        try options.alerts?.close()
        return summary
    }

    /// Opens the results and dead-letter files and the alert file sink; metrics become ready.
    func openOutputs(_ options: Options) throws -> (results: FileWriter?, deadLetters: DeadLetterWriter) {
        let deadLetters = try DeadLetterWriter(path: options.deadLetterPath)
        let results = try options.resultsPath.map { try FileWriter(path: $0) }
        try options.alerts?.start(resumingFileAt: nil)
        options.metrics?.isReady = true
        return (results, deadLetters)
    }

    /// Flushes and closes the outputs, ignoring errors (after a normal close: nothing to do).
    func closeQuietly(_ results: FileWriter?, _ deadLetters: DeadLetterWriter) {
        try? results?.close()
        try? deadLetters.close()
    }

    /// The sizes of the input files, for progress.
    static func totalBytes(_ inputs: [String]) -> Int64 {
        inputs.reduce(Int64(0)) { total, path in
            var st = stat()
            return total + (stat(path, &st) == 0 ? Int64(st.st_size) : 0)
        }
    }

    func emit(
        _ windows: [ClosedWindow], results: FileWriter?, summary: inout ReplaySummary, options: Options, counts: PipelineCounts
    ) throws {
        for w in windows {
            summary.windowsClosed += 1
            if w.results.contains(where: \.drift) { summary.driftedWindows += 1 }
            let emitted = try emitWindow(
                w, results: results, onWindow: options.onWindow, alerts: options.alerts, metrics: options.metrics, counts: counts)
            summary.resultRecords += emitted.records
            summary.alertChanges += emitted.alertChanges
            if let metrics = options.metrics {
                // Rejections by reason are summed per file, at its end.
                metrics.record(
                    read: counts.messages, accepted: counts.messages - counts.rejected, rejected: summary.rejectedByReason, late: counts.late,
                    windowsClosed: summary.windowsClosed, openWindowParts: 0, alertsFiring: options.alerts?.engine.firing)
            }
        }
    }
}

/// `--speed`: when an event may be handled so that event time runs `speed` times faster
/// than the wall clock from the first event on.
struct Pacer {
    let speed: Double
    var start: (wall: ContinuousClock.Instant, event: EpochMicroseconds)?

    init(speed: Double) { self.speed = speed }

    /// The instant an event of time `event` is due, the first one at `now`.
    mutating func due(_ event: EpochMicroseconds, now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        if start == nil { start = (now, event) }
        return start!.wall + .microseconds(Double(event &- start!.event) / speed)
    }
}

/// Blocks the thread until `deadline` (pacing for `--speed`).
func await_sleep(until deadline: ContinuousClock.Instant, clock: ContinuousClock) throws {
    let remaining = clock.now.duration(to: deadline)
    let (s, atto) = remaining.components
    guard s > 0 || atto > 0 else { return }
    var request = timespec(tv_sec: Int(s), tv_nsec: Int(atto / 1_000_000_000))
    var remainder = timespec()
    while nanosleep(&request, &remainder) != 0 && errno == EINTR { request = remainder }
}
