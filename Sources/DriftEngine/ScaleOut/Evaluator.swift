import DriftCore
import DriftKafka
import DriftStats
import Logging

/// The evaluator of a scaled-out run (`driftline run --role evaluator`): reads the partials
/// topic, merges the partitions' shares of every window exactly (``PartialMerger``), and emits
/// the window results, snapshots, metrics and alerts, once.
///
/// A window closes when every partition of the source topics has reported a watermark past its
/// end; a partition that stays silent for `scale_out.grace` after a window's first share arrived
/// no longer holds it back: the window closes without it and its dataset record says
/// `missing_partitions`. Its state (the shares of open windows, the partitions' watermarks, the
/// partials topic offset, the output files' lengths and the alert state) is checkpointed to
/// `checkpoint.dir` like a single-process run's, so a restart rewrites nothing twice.
final class EvaluatorSession {
    let live: LiveRun
    let options: LiveRun.Options
    let clock = ContinuousClock()
    let started: ContinuousClock.Instant
    var summary = LiveSummary()
    let store: CheckpointStore
    let fingerprint: UInt32
    var merger: PartialMerger
    var sequence: UInt64 = 0
    let results: FileWriter?
    let partialsTopic: String
    var nextOffset: Int64 = -1
    var consumer: KafkaConsumer?
    var dirty = false
    var checkpointFailures = CheckpointFailureLog()
    var assigned = false
    var lastMessage: ContinuousClock.Instant
    var firstMessage: ContinuousClock.Instant?
    /// When the first share of each pending window end arrived (for the grace).
    var firstShare: [EpochMicroseconds: ContinuousClock.Instant] = [:]
    /// Partials records deleted before they were read.
    var lostPartials = 0
    /// Whether the metadata has listed the source topics' partitions: until then no window
    /// closes, since the partitions that reported may not be all of them.
    var knowsPartitions = false
    var kafkaErrors = KafkaErrorNotices()

    var config: DriftlineConfig { live.config }
    var settings: String { live.settings + " role=evaluator" }
    var position: String { "\(partialsTopic)/0" }

    init(run: LiveRun, options: LiveRun.Options) throws {
        live = run
        self.options = options
        started = clock.now
        lastMessage = started
        let config = run.config
        partialsTopic = config.partialsTopic
        store = try CheckpointStore(directory: config.resolve(config.checkpoint.directory))
        fingerprint = run.profile.fingerprint
        merger = PartialMerger(spec: run.spec, schema: config.input, profile: run.profile, decision: run.decision)
        let restored = store.loadNewest()
        for skipped in restored.skipped { options.logger.warning("skipping checkpoint \(skipped)") }
        if let checkpoint = restored.checkpoint, let path = restored.path {
            guard checkpoint.profileFingerprint == fingerprint, checkpoint.settings == live.settings + " role=evaluator" else {
                throw ConfigError("checkpoint \(path) was written with another reference profile, config or role; move \(store.directory) away to start afresh")
            }
            var reader = ByteReader(checkpoint.aggregates)
            do {
                merger = try PartialMerger(from: &reader, spec: run.spec, schema: config.input, profile: run.profile, decision: run.decision)
            } catch {
                throw FormatError("\(path): \(error)")
            }
            nextOffset = checkpoint.positions["\(partialsTopic)/0"] ?? -1
            sequence = checkpoint.sequence
            summary.messages = checkpoint.counters["partials"] ?? 0
            summary.restoreWindowCounters(checkpoint.counters)
            summary.restoredFrom = path
            options.logger.info("resuming from \(path): \(merger.reported.count) partitions, windows waiting: \(merger.pendingWindowEnds.count)")
        }
        results = try Checkpoint.resumeOutputs(restored.checkpoint, path: restored.path, options: options)
    }

    /// Makes every partition of the source topics one that windows wait for.
    func expectPartitions(_ metadata: ClusterMetadata) {
        var names: [String] = []
        for topic in metadata.topics where topic.error == nil && config.kafka.topics.contains(where: { Self.matches($0, topic.name) }) {
            names += (0..<topic.partitionCount).map { "\(topic.name)/\($0)" }
        }
        let before = merger.reported.count
        if !names.isEmpty { knowsPartitions = true }
        merger.expect(names)
        if merger.reported.count != before {
            options.logger.info("waiting for \(merger.reported.count) partitions of \(config.kafka.topics.joined(separator: ", "))")
        }
    }

    /// A subscription entry (a name, or a regular expression starting with `^`) and a topic.
    static func matches(_ pattern: String, _ topic: String) -> Bool {
        guard pattern.hasPrefix("^") else { return pattern == topic }
        guard let regex = try? Regex(pattern) else { return false }
        return topic.firstMatch(of: regex) != nil
    }

    func handle(_ event: KafkaConsumerEvent) throws {
        switch event {
        case .message(let m):
            // Workers publish to partition 0 only; the offset bookkeeping is that partition's.
            guard m.topicPartition.partition == 0 else {
                summary.badPartials += 1
                options.logger.error("partials: a record in \(m.topicPartition) offset \(m.offset), where workers never write: skipped")
                return
            }
            guard m.offset >= nextOffset else { return }
            if nextOffset >= 0 && m.offset > nextOffset {
                // The idempotent producers leave no gaps: records were deleted (retention)
                // before they were read, and their shares are missing from their windows.
                lostPartials += Int(m.offset - nextOffset)
                options.logger.error("partials \(position): offsets \(nextOffset)..<\(m.offset) were deleted before they were read (retention shorter than the evaluator's lag?): windows they held shares of are incomplete")
            }
            nextOffset = m.offset + 1
            summary.messages += 1
            lastMessage = clock.now
            if firstMessage == nil { firstMessage = lastMessage }
            dirty = true
            do {
                let (_, payload) = try FileContainer.decode(.partial, Array(m.value))
                var r = ByteReader(payload)
                let partial = try merger.decodePartial(from: &r)
                guard r.isAtEnd else { throw FormatError("trailing bytes") }
                let now = clock.now
                for w in partial.windows where firstShare[live.spec.end(ofWindow: w.window)] == nil {
                    firstShare[live.spec.end(ofWindow: w.window)] = now
                }
                let late = merger.lateShares
                merger.add(partial)
                if merger.lateShares > late {
                    options.logger.warning("\(partial.partition): \(merger.lateShares - late) window shares arrived after their window closed at the grace; dropped (counted)")
                }
            } catch {
                summary.badPartials += 1
                options.logger.error("partials \(position) offset \(m.offset): not a partial aggregate of this config, skipped: \(error)")
            }
        case .partitionEnd:
            break
        case .error(let error):
            summary.kafkaErrors += 1
            kafkaErrors.report(error, to: options.logger)
        }
    }

    func emit(_ windows: [ClosedWindow]) throws {
        let totals = merger.totalCounts
        for w in windows {
            summary.windowsClosed += 1
            if w.results.contains(where: \.drift) { summary.driftedWindows += 1 }
            if w.missingPartitions > 0 {
                options.logger.warning("window \(TimestampFormat.rfc3339Milliseconds(w.start)) of \(w.model) closed without \(w.missingPartitions) partitions")
            }
            let emitted = try emitWindow(
                w, results: results, onWindow: options.onWindow, alerts: options.alerts, metrics: options.metrics,
                counts: PipelineCounts(messages: totals.messages, late: totals.late, rejected: totals.rejected))
            summary.resultRecords += emitted.records
            summary.alertChanges += emitted.alertChanges
            dirty = true
        }
        let open = Set(merger.pendingWindowEnds)
        firstShare = firstShare.filter { open.contains($0.key) }
    }

    /// Closes the oldest windows whose grace has run out.
    func closeOverdue() throws {
        let grace = Duration.microseconds(config.scaleOut.graceMicroseconds)
        let now = clock.now
        let overdue = merger.pendingWindowEnds.filter { end in firstShare[end].map { now - $0 >= grace } ?? false }
        if let newest = overdue.last { try emit(merger.close(endingBy: newest)) }
    }

    func checkpoint() {
        let totals = merger.totalCounts
        summary.accepted = totals.messages - totals.rejected
        summary.late = totals.late
        var w = ByteWriter()
        merger.encode(to: &w)
        let began = clock.now
        defer { summary.publishCheckpoint(to: options.metrics, seconds: (clock.now - began).seconds) }
        do {
            summary.lastCheckpointBytes = try store.write(results: results, deadLetters: nil, options: options) {
                Checkpoint(
                    sequence: sequence + 1, profileFingerprint: fingerprint, settings: settings,
                    positions: nextOffset >= 0 ? [position: nextOffset] : [:], aggregates: w.bytes,
                    resultsLength: results?.bytesWritten, deadLetterLength: nil,
                    counters: [
                        "partials": summary.messages, "windows": Int64(summary.windowsClosed),
                        "drifted_windows": Int64(summary.driftedWindows), "result_records": Int64(summary.resultRecords),
                    ])
            }
            sequence += 1
            summary.checkpoints += 1
            dirty = false
            checkpointFailures.succeeded(sequence, logger: options.logger)
        } catch {
            summary.checkpointFailures += 1
            checkpointFailures.failed(error, logger: options.logger)
            return
        }
        guard let consumer, nextOffset >= 0 else { return }
        do {
            FaultInjection.reached(.commitBefore)
            try consumer.commit([TopicPartition(partialsTopic, 0): nextOffset])
            FaultInjection.reached(.commitAfter)
        } catch {
            summary.commitFailures += 1
            options.logger.warning("offset commit failed (the checkpoint holds the offset; will retry): \(error)")
        }
    }

    /// Every partition has ended and every window is out.
    var inputEnded: Bool {
        !merger.reported.isEmpty && merger.reported.values.allSatisfy { $0 == PartialMerger.endOfInput }
            && merger.pendingWindowEnds.isEmpty
    }

    func run() throws -> LiveSummary {
        let kafka = try KafkaConsumer(.init(
            bootstrapServers: config.kafka.brokers, groupID: "\(config.kafka.group).evaluator", topics: [partialsTopic],
            properties: live.clientProperties(options)))
        consumer = kafka
        kafka.onAssign = { [unowned self] partitions in
            assigned = true
            lastMessage = clock.now
            options.metrics?.isReady = true
            options.logger.info("evaluating \(partitions.map(\.description).joined(separator: ", "))")
            let mine = partitions.filter { $0.partition == 0 }
            return nextOffset >= 0 ? Dictionary(uniqueKeysWithValues: mine.map { ($0, nextOffset) }) : [:]
        }
        kafka.onRevoke = { [unowned self] _ in if dirty { checkpoint() } }
        try kafka.consumeOrAbandon(consume)
        return summary
    }

    /// The poll loop, then the last save and the closing of every output.
    func consume(_ kafka: KafkaConsumer) throws {
        expectPartitions(try kafka.metadata())
        var lastMetadata = clock.now
        var lastCheckpoint = clock.now
        var lastStatus = clock.now
        let interval = Duration.microseconds(config.checkpoint.intervalMicroseconds)
        var idleEnd = false
        while !options.shouldStop() {
            try kafka.poll(maxMessages: 1024, timeoutMilliseconds: 100) { try handle($0) }
            let now = clock.now
            if now - lastMetadata >= (knowsPartitions ? .seconds(10) : .seconds(1)) {
                // Partitions added to a source topic hold windows back from now on.
                if let metadata = try? kafka.metadata(timeoutMilliseconds: 2000) { expectPartitions(metadata) }
                lastMetadata = now
            }
            if knowsPartitions {
                try emit(merger.closeReady())
                try closeOverdue()
            }
            if now - lastCheckpoint >= interval {
                if dirty { checkpoint() }
                lastCheckpoint = now
            }
            if now - lastStatus >= .seconds(1) {
                lastStatus = now
                options.status?(summary)
                publishMetrics()
            }
            if inputEnded && options.untilIdle != nil { break }
            if let untilIdle = options.untilIdle, assigned && now - lastMessage >= untilIdle {
                idleEnd = true
                break
            }
        }
        if idleEnd {
            let behind = merger.reported.filter { $0.value != PartialMerger.endOfInput }.keys.sorted()
            if !behind.isEmpty && !merger.pendingWindowEnds.isEmpty {
                options.logger.warning("idle for \(options.untilIdle!): closing every window; partitions that have not ended: \(behind.joined(separator: ", "))")
            }
            try emit(merger.closeAll())
        }
        checkpoint()
        try kafka.close()
        consumer = nil
        try results?.close(sync: true)
        try options.alerts?.close()
        publishMetrics()
        summary.seconds = (clock.now - started).seconds
        if let firstMessage { summary.activeSeconds = (lastMessage - firstMessage).seconds }
    }

    func publishMetrics() {
        guard let metrics = options.metrics else { return }
        let totals = merger.totalCounts
        metrics.record(
            read: totals.messages, accepted: totals.messages - totals.rejected, rejected: [:], late: totals.late,
            windowsClosed: summary.windowsClosed, openWindowParts: merger.pendingWindowEnds.count, alertsFiring: options.alerts?.engine.firing)
        metrics.setTotal("driftline_partial_duplicates_total", to: Int64(merger.duplicates))
        metrics.setTotal("driftline_partial_late_shares_total", to: Int64(merger.lateShares))
        metrics.setTotal("driftline_partials_lost_total", to: Int64(lostPartials))
    }
}
