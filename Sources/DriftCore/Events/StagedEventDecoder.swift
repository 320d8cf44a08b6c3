/// Decodes many single events (Kafka messages) the way ``JSONEventDecoder/decode(_:position:into:)``
/// does, with one scan scratch for all of them and rows staged in blocks, as
/// ``JSONEventDecoder/decodeLines(_:firstLine:into:rejectingBlankLines:reject:)`` stages them.
///
/// Per event, ``decode(_:position:into:)`` allocates its scratch, copies the decoder into a
/// closure and appends to every column of the batch. Here the scratch lives as long as the
/// stager and rows wait in a small block until ``flush(into:)`` appends them a block at a
/// time. Rows go to one batch at a time: categorical values and model ids are written to
/// that batch's arena while they are decoded, so the stager must be flushed into the same
/// batch before decoding into another one. Accepts and rejects exactly the events `decode`
/// accepts and rejects, and the flushed rows are the rows `decode` would have appended.
///
/// Not thread-safe; one per decoding thread.
public final class StagedEventDecoder {
    public let decoder: JSONEventDecoder
    static let rowsPerBlock = 64
    let numericCount: Int
    let categoricalCount: Int
    let scratch: JSONEventDecoder.ScanScratch
    let scratchMemory: UnsafeMutablePointer<UInt64>
    /// Each object's key order, learned from the events so far (see ``LearnedKey``); kept
    /// for the stager's life, since it only guides matching and holds no batch's data.
    let learnedKeys: UnsafeMutablePointer<LearnedKey>
    /// Recent string values per slot (see ``CachedString``): they point into the arena of
    /// the batch being decoded for, so ``flush(into:)`` forgets them.
    let cachedStrings: UnsafeMutablePointer<CachedString>
    let timestamps: UnsafeMutablePointer<Int64>
    let positions: UnsafeMutablePointer<Int64>
    let numeric: UnsafeMutablePointer<Double>
    let models: UnsafeMutablePointer<EventBatch.ByteRange>
    let categorical: UnsafeMutablePointer<EventBatch.ByteRange>
    /// Rows staged, in a pointer so that counting needs no exclusivity check on the class.
    let stagedCount: UnsafeMutablePointer<Int>

    public init(_ decoder: JSONEventDecoder) {
        self.decoder = decoder
        let paths = decoder.paths
        numericCount = paths.numericCount
        categoricalCount = paths.categoricalCount
        let slotCount = paths.slotCount
        // What `withScanScratch` allocates for the longest event accepted.
        let depthWords = min(max(decoder.limits.maxDepth, 0), max(decoder.limits.maxEventBytes, 0)) >> 6 &+ 1
        scratchMemory = .allocate(capacity: 2 &* slotCount &+ depthWords)
        learnedKeys = .allocate(capacity: max(paths.learnedCount, 1))
        learnedKeys.initialize(repeating: LearnedKey(), count: max(paths.learnedCount, 1))
        var scratch = JSONEventDecoder.ScanScratch(
            values: scratchMemory, states: scratchMemory + slotCount, containerBits: scratchMemory + 2 &* slotCount,
            slotCount: slotCount)
        if paths.learnedCount > 0 { scratch.learned = learnedKeys }
        cachedStrings = .allocate(capacity: slotCount &* CompiledPaths.cachedStrings)
        cachedStrings.initialize(repeating: CachedString(), count: slotCount &* CompiledPaths.cachedStrings)
        scratch.strings = cachedStrings
        self.scratch = scratch
        let rows = Self.rowsPerBlock
        timestamps = .allocate(capacity: rows)
        positions = .allocate(capacity: rows)
        numeric = .allocate(capacity: max(numericCount, 1) &* rows)
        models = .allocate(capacity: rows)
        categorical = .allocate(capacity: max(categoricalCount, 1) &* rows)
        stagedCount = .allocate(capacity: 1)
        stagedCount.pointee = 0
    }

    deinit {
        scratchMemory.deallocate()
        learnedKeys.deallocate()
        cachedStrings.deallocate()
        timestamps.deallocate()
        positions.deallocate()
        numeric.deallocate()
        models.deallocate()
        categorical.deallocate()
        stagedCount.deallocate()
    }

    /// Rows decoded and not yet flushed.
    public var staged: Int { stagedCount.pointee }

    /// Decodes one event and stages its row for `batch` (flushing a full block into it).
    ///
    /// - Returns: nil when the row was staged, otherwise why the event was rejected (the
    ///   batch's arena is then as it was), as ``JSONEventDecoder/decode(_:position:into:)``.
    @inline(__always)
    public func decode(_ event: UnsafeRawBufferPointer, position: Int64, into batch: inout EventBatch) -> RejectReason? {
        if event.count > decoder.limits.maxEventBytes { return .lineTooLong }
        guard event.count > 0 else { return .emptyLine }
        if let reason = decoder.scan(event, scratch: scratch, arena: &batch.bytes) { return reason }
        let values = scratch.values, states = scratch.states
        let rows = Self.rowsPerBlock
        let row = stagedCount.pointee
        timestamps[row] = Int64(bitPattern: values[CompiledPaths.timestampSlot])
        positions[row] = position
        let modelSlot = CompiledPaths.modelSlot
        models[row] = states[modelSlot] == SlotState.present.rawValue ? EventScanner.unpackRange(values[modelSlot]) : .missing
        var column = numeric + row
        let firstCategoricalSlot = 2 &+ numericCount
        for s in 2..<firstCategoricalSlot {
            column.pointee = states[s] == SlotState.present.rawValue ? Double(bitPattern: values[s]) : .nan
            column += rows
        }
        var categoricalColumn = categorical + row
        for s in firstCategoricalSlot..<(firstCategoricalSlot &+ categoricalCount) {
            categoricalColumn.pointee =
                states[s] == SlotState.present.rawValue ? EventScanner.unpackRange(values[s]) : .missing
            categoricalColumn += rows
        }
        stagedCount.pointee = row &+ 1
        if row &+ 1 == rows { flush(into: &batch) }
        return nil
    }

    /// Appends the staged rows to `batch` (the batch they were decoded for). Call it before
    /// decoding for another batch or changing this one.
    public func flush(into batch: inout EventBatch) {
        // Cached strings point into this batch's arena.
        scratch.forgetStrings(from: 0)
        let staged = stagedCount.pointee
        guard staged > 0 else { return }
        decoder.checkColumns(of: batch)
        let rows = Self.rowsPerBlock
        batch.timestamps.append(contentsOf: UnsafeBufferPointer(start: timestamps, count: staged))
        batch.positions.append(contentsOf: UnsafeBufferPointer(start: positions, count: staged))
        batch.models.append(contentsOf: UnsafeBufferPointer(start: models, count: staged))
        let numeric = self.numeric, categorical = self.categorical
        batch.numeric.withUnsafeMutableBufferPointer { columns in
            for f in 0..<columns.count {
                columns[f].append(contentsOf: UnsafeBufferPointer(start: numeric + f &* rows, count: staged))
            }
        }
        batch.categorical.withUnsafeMutableBufferPointer { columns in
            for f in 0..<columns.count {
                columns[f].append(contentsOf: UnsafeBufferPointer(start: categorical + f &* rows, count: staged))
            }
        }
        stagedCount.pointee = 0
    }
}
