#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftKafka
import DriftStats
import Logging

/// Counts of a live run, for its closing lines and for tests.
public struct LiveSummary: Sendable {
    public var messages: Int64 = 0
    public var accepted: Int64 = 0
    public var rejectedByReason: [RejectReason: Int64] = [:]
    public var late: Int64 = 0
    public var windowsClosed = 0
    public var driftedWindows = 0
    public var resultRecords = 0
    public var checkpoints = 0
    public var checkpointFailures = 0
    public var commitFailures = 0
    public var kafkaErrors = 0
    public var lastCheckpointBytes = 0
    /// Alert state changes (firing and resolved) emitted.
    public var alertChanges = 0
    /// Partial-aggregate records published (a scaled-out worker).
    public var partials = 0
    /// Records of the partials topic that could not be read (a scaled-out evaluator).
    public var badPartials = 0
    /// The checkpoint the run resumed from.
    public var restoredFrom: String?
    public var seconds: Double = 0
    /// From the first message to the last: the consuming part of ``seconds``.
    public var activeSeconds: Double = 0
    /// Consumer lag per partition from librdkafka's latest statistics (messages behind the
    /// partition's end); empty before the first statistics.
    public var lag: [String: Int64] = [:]
    public var totalLag: Int64? { lag.isEmpty ? nil : lag.values.reduce(0, +) }

    public var rejected: Int64 { rejectedByReason.values.reduce(0, +) }

    public func render() -> String {
        var s = "messages \(messages): accepted \(accepted), rejected \(rejected)"
        if late > 0 { s += "; \(late) of the accepted arrived late (dead letters)" }
        for (reason, n) in rejectedByReason.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            s += "\n  rejected \(reason.rawValue): \(n)"
        }
        s += "\nwindows closed \(windowsClosed) (\(driftedWindows) with drift), result records \(resultRecords)"
        if alertChanges > 0 { s += ", alert changes \(alertChanges)" }
        if partials > 0 { s += "\npartial aggregates published \(partials)" }
        if badPartials > 0 { s += "\nunreadable partials records skipped \(badPartials)" }
        s += "\ncheckpoints \(checkpoints) (last \(lastCheckpointBytes) bytes)"
        if checkpointFailures > 0 { s += ", \(checkpointFailures) failed" }
        if commitFailures > 0 { s += ", offset commits failed \(commitFailures) times" }
        if let restoredFrom { s += "; resumed from \(restoredFrom)" }
        if kafkaErrors > 0 { s += "\nkafka errors reported (and retried by librdkafka): \(kafkaErrors)" }
        if seconds > 0 {
            s += "\n\(Double(Int(seconds * 1000)) / 1000) s in all"
            if activeSeconds > 0 {
                s += "; \(Double(Int(activeSeconds * 1000)) / 1000) s from the first message to the last: \(Int(Double(messages) / activeSeconds)) messages/s"
            }
        }
        return s
    }
}

/// The live pipeline: consume the configured topics, window per partition, write results,
/// checkpoint the state and commit offsets only once the checkpoint is durable.
///
/// Exactly-once: a checkpoint holds the open aggregates, the next offset of every partition
/// and the lengths of the results and dead-letter files. On start the newest intact checkpoint
/// is restored, the output files are cut back to its lengths and every partition is assigned
/// at its offset; what follows is recomputed exactly as before (the ``PartitionedAggregator``
/// does not depend on how partitions interleave), so a run killed at any moment and restarted
/// writes the same files as one that never stopped.
public final class LiveRun {
    public struct Options {
        public var resultsPath: String?
        public var deadLetterPath: String?
        /// Stop after no message for this long, closing every open window (end of input).
        public var untilIdle: Duration?
        /// End after this many messages, closing every open window (end of input); messages
        /// beyond it in the same poll are not taken (their offsets are not committed).
        public var maxMessages: Int64?
        /// Polled between batches: `true` ends the run with a final checkpoint (no window is
        /// closed early).
        public var shouldStop: () -> Bool = { false }
        /// Called with every closed window.
        public var onWindow: ((ClosedWindow) throws -> Void)?
        /// Called first thing in every checkpoint, to make durable what ``onWindow`` wrote and
        /// is not durable when written (snapshots produced to Kafka); when it throws, the
        /// checkpoint fails and no offset is committed.
        public var beforeCheckpoint: (() throws -> Void)?
        /// Where the run reports what happens (assignments, resumes, failed checkpoints, Kafka errors).
        public var logger = Logger(label: "driftline.run", factory: { _ in SwiftLogNoOpLogHandler() })
        /// Alert rules and sinks; their state is checkpointed with the windows.
        public var alerts: Alerting?
        /// Prometheus metrics, updated about once a second and on every closed window.
        public var metrics: PipelineMetrics?
        /// Called about once a second with the counts so far (progress on a terminal).
        public var status: ((LiveSummary) -> Void)?
        /// Extra librdkafka properties over the config's (tests use short timeouts).
        public var extraProperties: [String: String] = [:]
        /// One process does everything, or one of several workers, or the evaluator.
        public var role = Role.all
        public init() {}
    }

    public let config: DriftlineConfig
    let profile: ReferenceProfile
    let spec: WindowSpec

    public init(config: DriftlineConfig, profile: ReferenceProfile?) throws {
        guard let profile else {
            throw ConfigError("config: `driftline run` needs `reference.profile` (build one with `driftline profile`); `from_stream` works with `replay` only")
        }
        guard !config.kafka.topics.isEmpty else { throw ConfigError("config: `kafka.topics` is empty") }
        guard let spec = WindowSpec(
            size: config.window.sizeMicroseconds, slide: config.window.slideMicroseconds,
            lateness: config.window.latenessMicroseconds)
        else { throw ConfigError("config: `window.size` must be a multiple of `window.slide`") }
        self.config = config
        self.profile = profile
        self.spec = spec
    }

    /// What the state depends on besides the profile; a checkpoint with other settings is refused.
    var settings: String {
        let s = config.input
        return "numeric=\(s.numeric) categorical=\(s.categorical) model=\(s.model ?? "-") window=\(spec.size)/\(spec.slide)/\(spec.lateness)"
    }

    var decision: DriftDecision {
        DriftDecision(psi: config.drift.psi, pValue: config.drift.ksPValue, minCount: config.drift.minCount)
    }

    /// What a `driftline run` process does (`--role`).
    public enum Role: String, Sendable, CaseIterable {
        /// Consume, window, evaluate and emit in one process.
        case all
        /// Consume and window the assigned partitions; publish their partial aggregates and
        /// keep their state in the state topic (``WorkerSession``).
        case worker
        /// Merge the partial aggregates and emit the results (``EvaluatorSession``).
        case evaluator
    }

    public func run(options: Options) throws -> LiveSummary {
        switch options.role {
        case .all: return try LiveSession(run: self, options: options).run()
        case .worker: return try WorkerSession(run: self, options: options).run()
        case .evaluator: return try EvaluatorSession(run: self, options: options).run()
        }
    }

    /// A member of `kafka.group` subscribed to `kafka.topics`, with its rebalance callbacks and
    /// the consumer lag from librdkafka's statistics.
    func joinGroup(
        _ options: Options, assign: @escaping ([TopicPartition]) -> [TopicPartition: Int64],
        revoke: @escaping ([TopicPartition]) -> Void, lag: @escaping ([String: Int64]) -> Void
    ) throws -> KafkaConsumer {
        let kafka = try KafkaConsumer(.init(
            bootstrapServers: config.kafka.brokers, groupID: config.kafka.group, topics: config.kafka.topics,
            properties: clientProperties(options)))
        kafka.onAssign = assign
        kafka.onRevoke = revoke
        kafka.onStatistics = { json in
            if let partitions = ConsumerStatistics.lag(json) { lag(partitions) }
        }
        return kafka
    }

    /// The librdkafka properties of the run's clients: the config's, consumer lag statistics,
    /// then the options' extra ones.
    func clientProperties(_ options: Options) -> [String: String] {
        var properties = config.kafka.properties
        if properties["statistics.interval.ms"] == nil { properties["statistics.interval.ms"] = "5000" }
        for (k, v) in options.extraProperties { properties[k] = v }
        return properties
    }
}

/// The mutable state of one live run; methods instead of nested closures keep each step
/// readable (and the state in one place for the checkpoint).
final class LiveSession {
    let live: LiveRun
    let options: LiveRun.Options
    let clock = ContinuousClock()
    let started: ContinuousClock.Instant
    var summary = LiveSummary()
    let store: CheckpointStore
    let fingerprint: UInt32
    var aggregator: PartitionedAggregator
    var positions: [String: Int64] = [:]
    var sequence: UInt64 = 0
    let results: FileWriter?
    let deadLetters: DeadLetterWriter
    var pending: PartitionBatches
    var names: [String] { pending.names }
    var nextOffsets: [Int64] = []
    var lastMessage: [ContinuousClock.Instant] = []
    var lastAnyMessage: ContinuousClock.Instant
    var firstMessage: ContinuousClock.Instant?
    var now: ContinuousClock.Instant
    var dirty = false
    var assigned = false
    var consumer: KafkaConsumer?
    var kafkaErrors = KafkaErrorNotices()
    var checkpointFailures = CheckpointFailureLog()

    var config: DriftlineConfig { live.config }
    var schema: EventSchema { live.config.input }

    init(run: LiveRun, options: LiveRun.Options) throws {
        self.live = run
        self.options = options
        started = clock.now
        now = started
        lastAnyMessage = started
        let config = run.config
        store = try CheckpointStore(directory: config.resolve(config.checkpoint.directory))
        fingerprint = run.profile.fingerprint
        pending = PartitionBatches(schema: config.input, limits: config.limits)
        aggregator = PartitionedAggregator(spec: run.spec, schema: config.input, profile: run.profile, decision: run.decision)
        aggregator.maxModels = config.input.maxModels
        for path in store.removeUnfinishedFiles() {
            options.logger.info("removed \(path): a checkpoint its writer did not finish")
        }
        let restored = store.loadNewest()
        for skipped in restored.skipped { options.logger.warning("skipping checkpoint \(skipped)") }
        if let checkpoint = restored.checkpoint, let path = restored.path {
            guard checkpoint.profileFingerprint == fingerprint, checkpoint.settings == run.settings else {
                throw ConfigError("checkpoint \(path) was written with another reference profile or config; move \(store.directory) away to start afresh")
            }
            var reader = ByteReader(checkpoint.aggregates)
            do {
                aggregator = try PartitionedAggregator(
                    from: &reader, spec: run.spec, schema: config.input, profile: run.profile, decision: run.decision)
            } catch {
                throw FormatError("\(path): \(error)")
            }
            aggregator.maxModels = config.input.maxModels
            positions = checkpoint.positions
            sequence = checkpoint.sequence
            summary.messages = checkpoint.counters["messages"] ?? 0
            summary.accepted = checkpoint.counters["accepted"] ?? 0
            summary.late = checkpoint.counters["late"] ?? 0
            summary.restoreWindowCounters(checkpoint.counters)
            for reason in RejectReason.allCases {
                if let n = checkpoint.counters["rejected." + reason.rawValue] { summary.rejectedByReason[reason] = n }
            }
            summary.restoredFrom = path
            options.logger.info("resuming from \(path): \(positions.count) partitions, \(aggregator.openWindowParts) open window parts")
        }
        deadLetters = try DeadLetterWriter(path: options.deadLetterPath, resumingAt: restored.checkpoint?.deadLetterLength)
        results = try Checkpoint.resumeOutputs(restored.checkpoint, path: restored.path, options: options)
    }

    func slot(_ tp: TopicPartition) -> Int {
        let (s, created) = pending.slot(tp)
        if created {
            nextOffsets.append(positions[tp.description] ?? -1)
            lastMessage.append(now)
        }
        return s
    }

    func emit(_ windows: [ClosedWindow]) throws {
        for w in windows {
            summary.windowsClosed += 1
            if w.results.contains(where: \.drift) { summary.driftedWindows += 1 }
            let emitted = try emitWindow(
                w, results: results, onWindow: options.onWindow, alerts: options.alerts, metrics: options.metrics,
                counts: PipelineCounts(messages: summary.messages, late: summary.late, rejected: summary.rejected))
            summary.resultRecords += emitted.records
            summary.alertChanges += emitted.alertChanges
        }
    }

    /// Writes a checkpoint, then commits the offsets it holds.
    func checkpoint() {
        for s in names.indices where nextOffsets[s] >= 0 { positions[names[s]] = nextOffsets[s] }
        var counters: [String: Int64] = [
            "messages": summary.messages, "accepted": summary.accepted, "late": summary.late,
            "windows": Int64(summary.windowsClosed), "drifted_windows": Int64(summary.driftedWindows),
            "result_records": Int64(summary.resultRecords),
        ]
        for (reason, n) in summary.rejectedByReason { counters["rejected." + reason.rawValue] = n }
        let began = clock.now
        var w = ByteWriter()
        aggregator.encode(to: &w)
        defer { summary.publishCheckpoint(to: options.metrics, seconds: (clock.now - began).seconds) }
        do {
            summary.lastCheckpointBytes = try store.write(results: results, deadLetters: deadLetters, options: options) {
                Checkpoint(
                    sequence: sequence + 1, profileFingerprint: fingerprint, settings: live.settings, positions: positions,
                    aggregates: w.bytes, resultsLength: results?.bytesWritten, deadLetterLength: deadLetters.length,
                    counters: counters)
            }
            sequence += 1
            summary.checkpoints += 1
            dirty = false
            checkpointFailures.succeeded(sequence, logger: options.logger)
        } catch {
            // Policy: keep running and say so; offsets are not committed without a durable
            // checkpoint, so nothing is lost, a restart only redoes more work.
            summary.checkpointFailures += 1
            checkpointFailures.failed(error, logger: options.logger)
            return
        }
        guard let consumer else { return }
        var offsets: [TopicPartition: Int64] = [:]
        for (s, tp) in pending.partitions.enumerated() where nextOffsets[s] >= 0 && consumer.assignment.contains(tp) {
            offsets[tp] = nextOffsets[s]
        }
        do {
            FaultInjection.reached(.commitBefore)
            try consumer.commit(offsets)
            FaultInjection.reached(.commitAfter)
        } catch {
            summary.commitFailures += 1
            options.logger.warning("offset commit failed (the checkpoint holds the offsets; will retry): \(error)")
        }
    }

    func assign(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        var start: [TopicPartition: Int64] = [:]
        for tp in partitions {
            let s = slot(tp)
            aggregator.register(names[s])
            lastMessage[s] = now
            if nextOffsets[s] >= 0 { start[tp] = nextOffsets[s] }
        }
        // `--until-idle` counts from the first assignment, not from the group join.
        lastAnyMessage = now
        assigned = true
        options.metrics?.isReady = true
        options.logger.info("assigned \(partitions.map(\.description).joined(separator: ", "))")
        return start
    }

    func revoke(_ partitions: [TopicPartition]) {
        options.logger.info("revoked \(partitions.map(\.description).joined(separator: ", "))")
        if dirty { checkpoint() }
    }

    /// What one poll changes, kept in locals while its messages are decoded and written to the
    /// session once the poll's messages are handled: per message, the decoder, the
    /// partition's batch and these counters; the session's offsets and message times once per
    /// run of one partition's messages (and its reject counts per rejected message).
    ///
    /// Rebalance callbacks run inside librdkafka's batch call, before any message of the poll
    /// is handed over, so nothing reads the session's counters, offsets or batches while a
    /// poll's messages are handled.
    struct PollState {
        var batches: [EventBatch] = []
        var messages: Int64 = 0
        var accepted: Int64 = 0
        /// The partition of the current run of messages (whose rows are staged) and the
        /// offset of its last message.
        var slot = -1
        var lastOffset: Int64 = -1
        var sawMessage = false
    }

    /// Hands one event of a poll to the decoder; see ``PollState``.
    @inline(__always)
    func handle(_ event: KafkaConsumerEvent, stager: StagedEventDecoder, state: inout PollState) throws {
        switch event {
        case .message(let m):
            if let max = options.maxMessages, summary.messages &+ state.messages >= max { return }
            let s = slot(m.topicPartition)
            if s != state.slot {
                endRun(&state)
                // A partition first seen here (not assigned before): its batch.
                while state.batches.count < names.count {
                    state.batches.append(EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count))
                }
            }
            state.messages &+= 1
            state.sawMessage = true
            if let reason = PartitionBatches.decode(
                m.value, position: m.offset, slot: s, stager: stager, stagedSlot: &state.slot, batches: &state.batches)
            {
                summary.rejectedByReason[reason, default: 0] += 1
                try deadLetters.write(source: names[s], position: m.offset, reason: reason, raw: m.value)
            } else {
                state.accepted &+= 1
            }
            state.lastOffset = m.offset
        case .partitionEnd:
            break
        case .error(let error):
            summary.kafkaErrors += 1
            kafkaErrors.report(error, to: options.logger)
        }
    }

    /// Records where the current run of one partition's messages ended.
    func endRun(_ state: inout PollState) {
        guard state.slot >= 0, state.lastOffset >= 0 else { return }
        nextOffsets[state.slot] = state.lastOffset + 1
        lastMessage[state.slot] = now
        state.lastOffset = -1
    }

    /// Polls once and decodes the messages into the partitions' batches.
    func pollOnce(_ kafka: KafkaConsumer) throws {
        var state = PollState()
        var taken = false
        let stager = pending.stager
        // The batches move into `state` at the first event (after any rebalance callback)
        // and back afterwards, also when decoding throws.
        defer {
            if taken {
                endRun(&state)
                PartitionBatches.flushStaged(stager, stagedSlot: &state.slot, batches: &state.batches)
                swap(&state.batches, &pending.batches)
                summary.messages += state.messages
                summary.accepted += state.accepted
                if state.sawMessage {
                    lastAnyMessage = now
                    if firstMessage == nil { firstMessage = now }
                    dirty = true
                }
            }
        }
        try kafka.poll(maxMessages: 4096, timeoutMilliseconds: 100) { event in
            if !taken {
                swap(&state.batches, &pending.batches)
                taken = true
            }
            try handle(event, stager: stager, state: &state)
        }
    }

    /// Adds the events decoded in the last poll to the windows, partition by partition.
    func feed() throws {
        aggregator.futureLimit = config.window.futureLimit()
        let (late, future) = try pending.feed(&aggregator, deadLetters: deadLetters) { $0 }
        summary.late += late
        if future > 0 {
            summary.accepted -= future
            summary.rejectedByReason[.futureTimestamp, default: 0] += future
        }
    }

    func run() throws -> LiveSummary {
        let kafka = try live.joinGroup(
            options, assign: { [unowned self] in assign($0) }, revoke: { [unowned self] in revoke($0) },
            lag: { [unowned self] in summary.lag = $0 })
        consumer = kafka
        try kafka.consumeOrAbandon(consume)
        return summary
    }

    /// The poll loop, then the final checkpoint and the closing of every output.
    func consume(_ kafka: KafkaConsumer) throws {
        var lastStatus = clock.now

        var lastCheckpoint = clock.now
        let interval = Duration.microseconds(config.checkpoint.intervalMicroseconds)
        let idleTimeout = Duration.microseconds(config.kafka.idleTimeoutMicroseconds)
        var endOfInput = false
        while !options.shouldStop() {
            now = clock.now
            try pollOnce(kafka)
            now = clock.now
            try feed()
            for s in names.indices where now - lastMessage[s] >= idleTimeout && !aggregator.isIdle(names[s]) {
                aggregator.setIdle(names[s], true)
            }
            try emit(aggregator.closeReady())
            if now - lastCheckpoint >= interval {
                if dirty { checkpoint() }
                lastCheckpoint = now
            }
            if now - lastStatus >= .seconds(1) {
                lastStatus = now
                options.status?(summary)
                publishMetrics()
            }
            if let max = options.maxMessages, summary.messages >= max {
                endOfInput = true
                break
            }
            if let untilIdle = options.untilIdle {
                if assigned && now - lastAnyMessage >= untilIdle {
                    endOfInput = true
                    break
                }
                let joinLimit = max(untilIdle, .seconds(30))
                if !assigned && now - started >= joinLimit {
                    throw KafkaError(
                        code: .timedOut,
                        message: "no partition of \(config.kafka.topics.joined(separator: ", ")) was assigned within \(joinLimit) (are kafka.brokers and kafka.topics right?)",
                        context: "joining group \(config.kafka.group) at \(config.kafka.brokers)")
                }
            }
        }
        if endOfInput {
            try emit(aggregator.closeAll())
        }
        checkpoint()
        try kafka.close()
        consumer = nil
        try results?.close(sync: true)
        try deadLetters.close()
        try options.alerts?.close()
        publishMetrics()
        summary.seconds = (clock.now - started).seconds
        if let firstMessage { summary.activeSeconds = (lastAnyMessage - firstMessage).seconds }
    }

    func publishMetrics() {
        guard let metrics = options.metrics else { return }
        metrics.record(
            read: summary.messages, accepted: summary.accepted, rejected: summary.rejectedByReason, late: summary.late,
            windowsClosed: summary.windowsClosed, openWindowParts: aggregator.openWindowParts, alertsFiring: options.alerts?.engine.firing)
        for (partition, lag) in summary.lag {
            metrics.set("driftline_consumer_lag", [("partition", partition)], Double(lag))
        }
        metrics.setTotal("driftline_kafka_errors_total", to: Int64(summary.kafkaErrors))
    }

}

extension LiveRun {
    /// The consume-only baseline of the throughput target: the same consumer, configuration
    /// and poll loop as ``run(options:)``, but messages are only counted (every value byte
    /// summed, so the payload is read) — no decoding, windows or checkpoints, no commits.
    ///
    /// - Returns: Messages, value bytes and seconds from the first message to the last.
    public static func consumeOnly(
        config: DriftlineConfig, untilIdle: Duration, extraProperties: [String: String] = [:]
    ) throws -> (messages: Int64, bytes: Int64, activeSeconds: Double, checksum: UInt64) {
        var properties = config.kafka.properties
        for (k, v) in extraProperties { properties[k] = v }
        let consumer = try KafkaConsumer(.init(
            bootstrapServers: config.kafka.brokers, groupID: config.kafka.group, topics: config.kafka.topics,
            properties: properties))
        let clock = ContinuousClock()
        let started = clock.now
        var messages: Int64 = 0, bytes: Int64 = 0, checksum: UInt64 = 0
        var first: ContinuousClock.Instant?
        var last = clock.now
        var assigned = false
        consumer.onAssign = { _ in
            assigned = true
            last = clock.now
            return [:]
        }
        while true {
            try consumer.poll(maxMessages: 4096, timeoutMilliseconds: 100) { event in
                guard case .message(let m) = event else { return }
                let now = clock.now
                if first == nil { first = now }
                last = now
                messages += 1
                bytes += Int64(m.value.count)
                for b in m.value { checksum &+= UInt64(b) }
            }
            if assigned && clock.now - last >= untilIdle { break }
            if !assigned && clock.now - started >= max(untilIdle, .seconds(30)) {
                throw KafkaError(code: .timedOut, message: "no partition was assigned", context: "joining group \(config.kafka.group)")
            }
        }
        try consumer.close()
        let active = first.map { last - $0 } ?? .zero
        return (messages, bytes, Double(active.components.seconds) + Double(active.components.attoseconds) / 1e18, checksum)
    }
}

/// Logs failed checkpoints one line per streak (again when the reason changes, or after a
/// minute) rather than one per interval, and the first success after a streak.
struct CheckpointFailureLog {
    var failures = 0
    var reason = ""
    var logged = ContinuousClock.now

    mutating func failed(_ error: any Error, logger: Logger) {
        failures += 1
        let now = ContinuousClock.now
        let text = "\(error)"
        guard failures == 1 || text != reason || now - logged >= .seconds(60) else { return }
        (reason, logged) = (text, now)
        let attempts = failures > 1 ? " (\(failures) attempts in a row)" : ""
        logger.error("checkpoint failed\(attempts), running on without checkpoints; offsets are not committed until one succeeds: \(text)")
    }

    mutating func succeeded(_ sequence: UInt64, logger: Logger) {
        guard failures > 0 else { return }
        logger.notice("checkpoint \(sequence) written after \(failures) failed attempts; offsets are committed again")
        failures = 0
    }
}

/// Microseconds since the epoch by the wall clock (for the future-timestamp limit).
func wallClockMicroseconds() -> EpochMicroseconds {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec / 1000)
}
