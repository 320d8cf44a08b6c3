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
    let scratch: JSONEventDecoder.ScanScratch
    let scratchMemory: UnsafeMutablePointer<UInt64>
    /// Each object's key order, learned from the events so far (see ``LearnedKey``); kept
    /// for the stager's life, since it only guides matching and holds no batch's data.
    let learnedKeys: UnsafeMutablePointer<LearnedKey>
    /// Recent string values per slot (see ``CachedString``): they point into the arena of
    /// the batch being decoded for, so ``flush(into:)`` forgets them.
    let cachedStrings: UnsafeMutablePointer<CachedString>
    /// The staged rows, over `integers`, `doubles` and `ranges` (owned).
    let rows: StagedRows
    let integers: UnsafeMutablePointer<Int64>
    let doubles: UnsafeMutablePointer<Double>
    let ranges: UnsafeMutablePointer<EventBatch.ByteRange>
    /// Rows staged, in a pointer so that counting needs no exclusivity check on the class.
    let stagedCount: UnsafeMutablePointer<Int>

    public init(_ decoder: JSONEventDecoder) {
        self.decoder = decoder
        let paths = decoder.paths
        let numericCount = paths.numericCount, categoricalCount = paths.categoricalCount
        let slotCount = paths.slotCount
        // What `withScanScratch` allocates for the longest event accepted.
        let depthWords = decoder.depthWords(longestEvent: max(decoder.limits.maxEventBytes, 0))
        scratchMemory = .allocate(capacity: JSONEventDecoder.ScanScratch.words(slotCount: slotCount, depthWords: depthWords))
        learnedKeys = .allocate(capacity: max(paths.learnedCount, 1))
        learnedKeys.initialize(repeating: LearnedKey(), count: max(paths.learnedCount, 1))
        var scratch = JSONEventDecoder.ScanScratch(memory: scratchMemory, slotCount: slotCount)
        if paths.learnedCount > 0 { scratch.learned = learnedKeys }
        cachedStrings = .allocate(capacity: slotCount &* CompiledPaths.cachedStrings)
        cachedStrings.initialize(repeating: CachedString(), count: slotCount &* CompiledPaths.cachedStrings)
        scratch.strings = cachedStrings
        self.scratch = scratch
        let capacities = StagedRows.capacities(
            rows: StagedRows.rowsPerBlock, numericCount: numericCount, categoricalCount: categoricalCount)
        integers = .allocate(capacity: capacities.integers)
        doubles = .allocate(capacity: capacities.doubles)
        ranges = .allocate(capacity: capacities.ranges)
        rows = StagedRows(
            rows: StagedRows.rowsPerBlock, numericCount: numericCount, categoricalCount: categoricalCount, integers: integers,
            doubles: doubles, ranges: ranges)
        stagedCount = .allocate(capacity: 1)
        stagedCount.pointee = 0
    }

    deinit {
        scratchMemory.deallocate()
        learnedKeys.deallocate()
        cachedStrings.deallocate()
        integers.deallocate()
        doubles.deallocate()
        ranges.deallocate()
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
        let row = stagedCount.pointee
        rows.stage(scratch, position: position, row: row)
        stagedCount.pointee = row &+ 1
        // A full block goes into the batch; the cached strings stay (same batch, same arena).
        if row &+ 1 == StagedRows.rowsPerBlock { appendStaged(to: &batch) }
        return nil
    }

    /// Appends the staged rows to `batch` (the batch they were decoded for). Call it before
    /// decoding for another batch or changing this one.
    public func flush(into batch: inout EventBatch) {
        // Cached strings point into this batch's arena.
        scratch.forgetStrings(from: 0)
        appendStaged(to: &batch)
    }

    /// Appends the staged rows to `batch`, keeping the cached strings.
    func appendStaged(to batch: inout EventBatch) {
        let staged = stagedCount.pointee
        guard staged > 0 else { return }
        decoder.checkColumns(of: batch)
        rows.append(staged, to: &batch)
        stagedCount.pointee = 0
    }
}
