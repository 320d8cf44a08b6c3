import DriftCore
import DriftKafka

/// Decoded events of the current poll (or read), one batch per partition, in each
/// partition's order; shared by the live run and the replay of recordings so both feed the
/// windows the same way.
struct PartitionBatches {
    let schema: EventSchema
    var slots: [TopicPartition: Int] = [:]
    var names: [String] = []
    var partitions: [TopicPartition] = []
    var batches: [EventBatch] = []

    init(schema: EventSchema) {
        self.schema = schema
    }

    /// The slot of a partition, created on first sight (`created` says so).
    mutating func slot(_ tp: TopicPartition) -> (slot: Int, created: Bool) {
        if let s = slots[tp] { return (s, false) }
        let s = names.count
        slots[tp] = s
        names.append(tp.description)
        partitions.append(tp)
        batches.append(EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count))
        return (s, true)
    }

    /// Adds every pending batch to `aggregator` and empties it; late events go to the dead
    /// letters with their event time.
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
