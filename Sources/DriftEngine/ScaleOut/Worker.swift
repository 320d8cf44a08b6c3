import DriftCore
import DriftKafka
import DriftStats
import Logging

/// A worker of a scaled-out run (`driftline run --role worker`): one of several processes in
/// the consumer group, each windowing the partitions Kafka assigns it.
///
/// - Every partition keeps its own windows and watermark. When the watermark crosses a window
///   boundary, the windows it passed are taken out and published to the partials topic
///   (partition 0) as the partition's final shares, with the watermark, for the evaluator.
/// - Every `checkpoint.interval`, on revoke and on shutdown the partitions' state goes to the
///   state topic (key `<group>/<topic>/<partition>`) once every partial published before it is
///   delivered; offsets are committed after that. On assign, a partition's newest state is read
///   back from the state topic and consumption resumes at its offset: the partition moves with
///   its state. What a killed worker did after its last saved state is done again by the next
///   owner; the evaluator drops the repeated shares.
final class WorkerSession {
    struct Slot {
        var nextOffset: Int64 = -1
        var counts = PartitionCounts()
        /// The window-boundary index of the watermark last reported.
        var reported: Int64 = .min
        var owned = false
        var dirty = false
    }

    let live: LiveRun
    let options: LiveRun.Options
    let clock = ContinuousClock()
    let started: ContinuousClock.Instant
    var summary = LiveSummary()
    let fingerprint: UInt32
    var aggregator: PartitionedAggregator
    let deadLetters: DeadLetterWriter
    /// Messages decoded since the last feed, as `run` decodes them; fed after every poll.
    var pending: PartitionBatches
    var slots: [Slot] = []
    var consumer: KafkaConsumer?
    let producer: KafkaProducer
    /// Reads the state topic (assigned by hand, outside the group).
    let tableReader: KafkaConsumer
    var statePartitions: Int32 = 1
    let stateTopic: String
    let partialsTopic: String
    /// A failure inside a rebalance callback, thrown from the poll loop.
    var failure: Error?
    var lastAnyMessage: ContinuousClock.Instant
    var firstMessage: ContinuousClock.Instant?
    var assigned = false
    /// Since partitions were revoked and until the next assignment: the group is rebalancing,
    /// and partitions may be on their way to this worker.
    var revokedAt: ContinuousClock.Instant?
    /// How long `--until-idle` waits for an assignment after a revoke: twice the session timeout.
    var rebalanceWait: Duration {
        let session = live.clientProperties(options)["session.timeout.ms"].flatMap(Int64.init) ?? 45_000
        return .milliseconds(max(30_000, 2 * session))
    }
    var kafkaErrors = KafkaErrorNotices()
    var failedDeliveries = 0

    var config: DriftlineConfig { live.config }

    init(run: LiveRun, options: LiveRun.Options) throws {
        live = run
        self.options = options
        started = clock.now
        lastAnyMessage = started
        let config = run.config
        fingerprint = run.profile.fingerprint
        pending = PartitionBatches(schema: config.input, limits: config.limits)
        aggregator = PartitionedAggregator(spec: run.spec, schema: config.input, profile: run.profile, decision: run.decision)
        aggregator.maxModels = config.input.maxModels
        // Dead letters of a worker are its own file; after a crash the next owner writes the
        // redone part again (at least once).
        deadLetters = try DeadLetterWriter(path: options.deadLetterPath)
        stateTopic = config.stateTopic
        partialsTopic = config.partialsTopic
        var properties = run.clientProperties(options)
        properties["enable.idempotence"] = "true"
        // A partition with many models and open windows has a large state record; the state
        // topic's max.message.bytes must allow it too (README, Scale-out).
        if properties["message.max.bytes"] == nil { properties["message.max.bytes"] = "16777216" }
        producer = try KafkaProducer(.init(bootstrapServers: config.kafka.brokers, properties: properties))
        tableReader = try KafkaConsumer(.init(
            bootstrapServers: config.kafka.brokers, groupID: "\(config.kafka.group).state-reader", topics: [],
            properties: run.clientProperties(options)))
    }

    func slot(_ tp: TopicPartition) -> Int {
        let (s, created) = pending.slot(tp)
        if created { slots.append(Slot()) }
        return s
    }

    /// The boundary index of a watermark: it changes when the watermark passes a window's end.
    func boundary(_ watermark: EpochMicroseconds) -> Int64 {
        watermark == .min ? .min : watermark.floorDivided(by: live.spec.slide)
    }

    // MARK: Rebalance

    func assign(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        var start: [TopicPartition: Int64] = [:]
        assigned = true
        revokedAt = nil
        lastAnyMessage = clock.now
        options.metrics?.isReady = true
        guard !partitions.isEmpty else { return start }
        do {
            // Every partition of the state topic: where a state was written depends on the
            // topic's partition count at that moment, which may have changed since.
            refreshStatePartitions()
            let table = try TopicTable.newestByKey(tableReader, topic: stateTopic, partitions: Set(0..<statePartitions))
            var resumed = 0
            for tp in partitions {
                let s = slot(tp)
                let name = tp.description
                slots[s] = Slot()
                slots[s].owned = true
                aggregator.remove(name)
                guard let bytes = table[PartitionState.key(group: config.kafka.group, partition: name)] else {
                    aggregator.register(name)
                    // No saved state: the partition has not been counted yet, start at its beginning.
                    start[tp] = KafkaConsumer.offsetBeginning
                    continue
                }
                let state: PartitionState
                do { state = try PartitionState(recordBytes: bytes) } catch { throw FormatError("state of \(name) in \(stateTopic): \(error)") }
                guard state.settings == live.settings, state.profileFingerprint == fingerprint else {
                    throw ConfigError("the state of \(name) in \(stateTopic) was written with another reference profile or config")
                }
                var r = ByteReader(state.aggregates)
                do { try aggregator.restorePartition(name, from: &r) } catch { throw FormatError("state of \(name) in \(stateTopic): \(error)") }
                slots[s].nextOffset = state.nextOffset
                slots[s].counts = state.counts
                start[tp] = state.nextOffset
                resumed += 1
            }
            let rebalancing = consumer.map { " (\($0.rebalanceProtocol) rebalancing)" } ?? ""
            options.logger.info("assigned \(partitions.map(\.description).joined(separator: ", "))\(rebalancing); \(resumed) resumed from \(stateTopic) (\(table.count) states read)")
        } catch {
            failure = error
        }
        return start
    }

    func revoke(_ partitions: [TopicPartition]) {
        options.logger.info("revoked \(partitions.map(\.description).joined(separator: ", "))")
        revokedAt = clock.now
        let revoked = partitions.compactMap { pending.slots[$0] }.filter { slots[$0].owned }
        do {
            try save(revoked)
        } catch {
            failure = error
        }
        for s in revoked {
            slots[s].owned = false
            aggregator.remove(pending.names[s])
        }
    }

    // MARK: Messages

    func handle(_ event: KafkaConsumerEvent) throws {
        if let failure { throw failure }
        switch event {
        case .message(let m):
            if let max = options.maxMessages, summary.messages >= max { return }
            let s = slot(m.topicPartition)
            // Messages fetched before a rebalance, or already counted in the restored state.
            guard slots[s].owned, m.offset >= slots[s].nextOffset else { return }
            summary.messages += 1
            slots[s].counts.messages += 1
            if let reason = pending.decode(m.value, position: m.offset, slot: s) {
                summary.rejectedByReason[reason, default: 0] += 1
                slots[s].counts.rejected += 1
                try deadLetters.write(source: pending.names[s], position: m.offset, reason: reason, raw: m.value)
            } else {
                summary.accepted += 1
            }
            slots[s].nextOffset = m.offset + 1
            slots[s].dirty = true
            lastAnyMessage = clock.now
            if firstMessage == nil { firstMessage = lastAnyMessage }
        case .partitionEnd:
            break
        case .error(let error):
            summary.kafkaErrors += 1
            kafkaErrors.report(error, to: options.logger)
        }
    }

    /// Windows the decoded events, then reports every partition whose watermark crossed a
    /// window boundary.
    func feed() throws {
        // After every poll (staged rows included): rebalance callbacks run inside a poll,
        // before any of its messages is handled, so they find every row of the polls before
        // fed.
        aggregator.futureLimit = config.window.futureLimit()
        var fed: [Int] = []
        let (late, future) = try pending.feed(&aggregator, deadLetters: deadLetters, source: { $0 }) { s, late, future in
            slots[s].counts.late += late
            slots[s].counts.rejected += future
            fed.append(s)
        }
        summary.late += late
        if future > 0 {
            summary.accepted -= future
            summary.rejectedByReason[.futureTimestamp, default: 0] += future
        }
        for s in fed {
            let name = pending.names[s]
            guard let watermark = aggregator.watermark(of: name) else { continue }
            let index = boundary(watermark)
            if index > slots[s].reported {
                try publish(s, watermark: watermark, windows: aggregator.takeClosed(name))
                slots[s].reported = index
            }
        }
    }

    func publish(_ s: Int, watermark: EpochMicroseconds, windows: [WindowAggregator.OpenWindow]) throws {
        let partial = WindowPartial(partition: pending.names[s], watermark: watermark, windows: windows, counts: slots[s].counts)
        var w = ByteWriter()
        aggregator.encode(partial, to: &w)
        let record = try FileContainer.encode(.partial, payload: w.bytes, level: 1)
        try producer.send(topic: partialsTopic, partition: 0, key: Array(partial.partition.utf8), value: record)
        producer.poll()
        summary.partials += 1
        slots[s].dirty = true
    }

    /// Makes every partial published so far durable, then the state of `which`, then commits
    /// their offsets.
    ///
    /// - Throws: When a delivery failed: the state is then not saved, and a restart redoes the
    ///   work since the last saved state.
    func save(_ which: [Int]) throws {
        let dirty = which.filter { slots[$0].owned && slots[$0].dirty }
        guard !dirty.isEmpty else { return }
        let began = clock.now
        try flush("partials")
        var bytes = 0
        for s in dirty {
            let name = pending.names[s]
            var w = ByteWriter()
            aggregator.encodePartition(name, to: &w)
            let record = try PartitionState(
                settings: live.settings, profileFingerprint: fingerprint, partition: name, nextOffset: slots[s].nextOffset,
                counts: slots[s].counts, aggregates: w.bytes
            ).recordBytes()
            bytes += record.count
            let tp = pending.partitions[s]
            try producer.send(
                topic: stateTopic, partition: tp.partition % statePartitions,
                key: PartitionState.key(group: config.kafka.group, partition: name), value: record)
        }
        try flush("state")
        for s in dirty { slots[s].dirty = false }
        summary.checkpoints += 1
        summary.lastCheckpointBytes = bytes
        options.metrics?.set("driftline_checkpoint_duration_seconds", (clock.now - began).seconds)
        options.metrics?.set("driftline_checkpoint_bytes", Double(bytes))
        guard let consumer else { return }
        var offsets: [TopicPartition: Int64] = [:]
        for s in dirty where slots[s].nextOffset >= 0 && consumer.assignment.contains(pending.partitions[s]) {
            offsets[pending.partitions[s]] = slots[s].nextOffset
        }
        do {
            FaultInjection.reached(.commitBefore)
            try consumer.commit(offsets)
            FaultInjection.reached(.commitAfter)
        } catch {
            // The state topic holds the offsets; the committed ones only show the lag.
            summary.commitFailures += 1
            options.logger.warning("offset commit failed (the state topic holds the offsets): \(error)")
        }
    }

    func flush(_ what: String) throws {
        try producer.flush(timeoutMilliseconds: 60_000)
        if producer.failed > failedDeliveries {
            failedDeliveries = producer.failed
            throw KafkaError(
                code: .fail, message: "\(producer.firstFailure.map { "\($0)" } ?? "delivery failed")",
                context: "delivering \(what) records (the partitions' state is not saved; a restart resumes from the last saved state)")
        }
    }

    // MARK: Loop

    /// The state topic's partition count, from the cluster's metadata (1 while it does not exist).
    func refreshStatePartitions() {
        guard let metadata = try? tableReader.metadata(timeoutMilliseconds: 5000) else { return }
        if let topic = metadata.topics.first(where: { $0.name == stateTopic }), topic.error == nil, topic.partitionCount > 0 {
            statePartitions = Int32(topic.partitionCount)
        }
    }

    func run() throws -> LiveSummary {
        refreshStatePartitions()
        let kafka = try live.joinGroup(
            options, assign: { [unowned self] in assign($0) }, revoke: { [unowned self] in revoke($0) },
            lag: { [unowned self] in summary.lag = $0 })
        consumer = kafka
        try kafka.consumeOrAbandon(consume)
        return summary
    }

    /// The poll loop, then the last save and the closing of every output.
    func consume(_ kafka: KafkaConsumer) throws {
        var lastCheckpoint = clock.now
        var lastStatus = clock.now
        let interval = Duration.microseconds(config.checkpoint.intervalMicroseconds)
        var endOfInput = false
        while !options.shouldStop() {
            try kafka.poll(maxMessages: 4096, timeoutMilliseconds: 100) { try handle($0) }
            if let failure { throw failure }
            try feed()
            let now = clock.now
            if now - lastCheckpoint >= interval {
                try save(Array(slots.indices))
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
                // Not while the group rebalances: partitions handed over by a worker that
                // ended may be about to arrive here, and must be ended too. A member that left
                // without the coordinator noticing holds a rebalance up to the session timeout.
                let rebalancing = revokedAt.map { now - $0 < rebalanceWait } ?? false
                if assigned && !rebalancing && now - lastAnyMessage >= untilIdle {
                    endOfInput = true
                    break
                }
                let joinLimit = max(untilIdle, .seconds(30))
                if !assigned && now - started >= joinLimit {
                    throw KafkaError(
                        code: .timedOut, message: "no partition assignment within \(joinLimit) (are kafka.brokers and kafka.topics right?)",
                        context: "joining group \(config.kafka.group) at \(config.kafka.brokers)")
                }
            }
        }
        if endOfInput {
            // End of input: every partition hands over all its windows and says it has ended.
            let owned = slots.indices.filter { slots[$0].owned }
            for s in owned {
                try publish(s, watermark: PartialMerger.endOfInput, windows: aggregator.takeClosed(pending.names[s], all: true))
            }
            if let revokedAt, revokedAt > lastAnyMessage, owned.isEmpty {
                options.logger.warning("no assignment within \(rebalanceWait) of the last revoke: ending with no partition")
            }
            options.logger.info("end of input: \(owned.map { pending.names[$0] }.joined(separator: ", ")) handed over with all their windows")
        }
        try save(Array(slots.indices))
        try kafka.close()
        if let failure { throw failure }
        consumer = nil
        try deadLetters.close()
        publishMetrics()
        summary.seconds = (clock.now - started).seconds
        if let firstMessage { summary.activeSeconds = (lastAnyMessage - firstMessage).seconds }
    }

    func publishMetrics() {
        guard let metrics = options.metrics else { return }
        metrics.record(
            read: summary.messages, accepted: summary.accepted, rejected: summary.rejectedByReason, late: summary.late,
            windowsClosed: 0, openWindowParts: aggregator.openWindowParts, alertsFiring: nil)
        for (partition, lag) in summary.lag {
            metrics.set("driftline_consumer_lag", [("partition", partition)], Double(lag))
        }
        metrics.setTotal("driftline_kafka_errors_total", to: Int64(summary.kafkaErrors))
        metrics.setTotal("driftline_partials_published_total", to: Int64(summary.partials))
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    func floorDivided(by d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
