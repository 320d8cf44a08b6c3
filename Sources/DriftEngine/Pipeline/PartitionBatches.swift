import DriftCore
import DriftKafka

/// Decoded events of the current poll (or read), one batch per partition, in each
/// partition's order; shared by the live run, the scale-out worker and the replay of
/// recordings so all of them decode messages and feed the windows the same way.
///
/// Messages are decoded with one scan scratch and their rows staged in blocks
/// (``StagedEventDecoder``). Staged rows belong to the batch they were decoded for (their
/// strings are in its arena), so they go into it before a message of another partition is
/// decoded and before the batches are fed: ``decode(_:position:slot:)`` and ``feed`` see to
/// both, and nothing else ever sees staged rows.
struct PartitionBatches {
    let schema: EventSchema
    var slots: [TopicPartition: Int] = [:]
    var names: [String] = []
    var partitions: [TopicPartition] = []
    var batches: [EventBatch] = []
    /// One for the whole run: its scan scratch, learned key order and string cache last.
    let stager: StagedEventDecoder
    /// The partition whose rows are staged, or -1.
    var stagedSlot = -1
    /// The partition last asked for and its slot (see ``slot(_:)``).
    var lastPartition = TopicPartition("", -1)
    var lastSlot = -1

    init(schema: EventSchema, limits: DecoderLimits) {
        self.schema = schema
        stager = StagedEventDecoder(JSONEventDecoder(schema: schema, limits: limits))
    }

    /// Decodes one message into the batch of partition `slot`.
    ///
    /// - Returns: Why the message was rejected, or nil.
    mutating func decode(_ value: UnsafeRawBufferPointer, position: Int64, slot: Int) -> RejectReason? {
        Self.decode(value, position: position, slot: slot, stager: stager, stagedSlot: &stagedSlot, batches: &batches)
    }

    /// Moves the staged rows into their partition's batch.
    mutating func flushStaged() {
        Self.flushStaged(stager, stagedSlot: &stagedSlot, batches: &batches)
    }

    /// ``decode(_:position:slot:)`` on batches held elsewhere during a poll (the live run
    /// keeps them in locals, with `stagedSlot`).
    @inline(__always)
    static func decode(
        _ value: UnsafeRawBufferPointer, position: Int64, slot: Int, stager: StagedEventDecoder, stagedSlot: inout Int,
        batches: inout [EventBatch]
    ) -> RejectReason? {
        if slot != stagedSlot {
            flushStaged(stager, stagedSlot: &stagedSlot, batches: &batches)
            stagedSlot = slot
        }
        return stager.decode(value, position: position, into: &batches[slot])
    }

    /// ``flushStaged()`` on batches held elsewhere.
    static func flushStaged(_ stager: StagedEventDecoder, stagedSlot: inout Int, batches: inout [EventBatch]) {
        guard stagedSlot >= 0 else { return }
        stager.flush(into: &batches[stagedSlot])
        stagedSlot = -1
    }

    /// The slot of a partition, created on first sight (`created` says so).
    mutating func slot(_ tp: TopicPartition) -> (slot: Int, created: Bool) {
        // Messages come in runs of one partition: the last one's slot, without hashing.
        if tp.partition == lastPartition.partition && tp.topic == lastPartition.topic { return (lastSlot, false) }
        lastPartition = tp
        if let s = slots[tp] {
            lastSlot = s
            return (s, false)
        }
        let s = names.count
        lastSlot = s
        slots[tp] = s
        names.append(tp.description)
        partitions.append(tp)
        batches.append(EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count))
        return (s, true)
    }

    /// Adds every pending batch (with the staged rows) to `aggregator` and empties it; late
    /// events go to the dead letters with their event time.
    ///
    /// Events beyond the aggregator's future limit are rejected (dead letters, reason
    /// `future_timestamp`): the caller moves them from accepted to rejected.
    ///
    /// - Returns: The numbers of late and of future events.
    /// - Parameter counted: Called per fed partition (slot) with its late and future events.
    mutating func feed(
        _ aggregator: inout PartitionedAggregator, deadLetters: DeadLetterWriter, source: (String) -> String,
        counted: (_ slot: Int, _ late: Int64, _ future: Int64) -> Void = { _, _, _ in }
    ) throws -> (late: Int64, future: Int64) {
        flushStaged()
        var late: Int64 = 0
        var future: Int64 = 0
        for s in batches.indices where batches[s].count > 0 {
            let name = names[s]
            let batch = batches[s]
            var lateError: Error?
            func deadLetter(_ row: Int, _ reason: RejectReason) {
                do {
                    try deadLetters.write(
                        source: source(name), position: batch.positions[row], reason: reason,
                        raw: UnsafeRawBufferPointer(start: nil, count: 0), eventTime: batch.timestamps[row])
                } catch {
                    if lateError == nil { lateError = error }
                }
            }
            var slotLate: Int64 = 0, slotFuture: Int64 = 0
            aggregator.add(batch, partition: name, late: { row in
                slotLate += 1
                deadLetter(row, .late)
            }, future: { row in
                slotFuture += 1
                deadLetter(row, .futureTimestamp)
            })
            late += slotLate
            future += slotFuture
            counted(s, slotLate, slotFuture)
            batches[s].removeAll()
            if let lateError { throw lateError }
        }
        return (late, future)
    }
}
