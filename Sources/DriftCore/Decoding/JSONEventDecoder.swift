#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Limits that keep one hostile event from costing more than a bounded amount of work.
public struct DecoderLimits: Sendable, Hashable {
    /// The deepest nesting of objects and arrays accepted (the event's own object is level 1).
    public var maxDepth: Int = 64
    /// The longest event accepted, in bytes; longer ones are rejected without being scanned.
    public var maxEventBytes: Int = 1 << 20

    public init(maxDepth: Int = 64, maxEventBytes: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxEventBytes = maxEventBytes
    }
}

/// Decodes JSON events into the columns of an ``EventBatch``.
///
/// A byte-level scanner written for this job: one pass per event validates the whole
/// document (RFC 8259, UTF-8 per RFC 3629) and picks out the configured fields through a
/// trie of the schema's dotted paths; values at other keys are validated and skipped
/// without being decoded. Numbers are correctly rounded (the double glibc `strtod` gives).
/// Decoding allocates nothing per event once the batch's columns have grown.
///
/// Field rules:
/// - numeric: a number; absent or `null` is missing (NaN); anything else rejects the event
///   (``RejectReason/notANumber``, or ``RejectReason/numberOutOfRange`` for e.g. `1e400`).
/// - categorical: a string (its unescaped bytes), `true`/`false`, or a number (its text as
///   written); absent or `null` is missing; an object or array is ``RejectReason/invalidCategory``.
/// - model: a string or an integer (written without fraction or exponent); absent or `null`
///   is model "default"; anything else is ``RejectReason/invalidModel``.
/// - timestamp: see ``EventTime``; absent or `null` is ``RejectReason/missingTimestamp``.
///
/// A repeated key: the last value wins (for an object on a path, the whole object).
/// When several field errors occur, the reported one is the first in schema order
/// (timestamp, model, numeric, categorical); JSON errors come before field errors.
public struct JSONEventDecoder: Sendable {
    public let schema: EventSchema
    public let limits: DecoderLimits
    let paths: CompiledPaths

    public init(schema: EventSchema, limits: DecoderLimits = .init()) {
        self.schema = schema
        self.limits = limits
        paths = CompiledPaths(schema: schema)
    }

    /// Decodes one event and appends one row to `batch`.
    ///
    /// The event is exactly one JSON object with optional surrounding whitespace. On
    /// rejection the batch is left exactly as it was (no row, no arena bytes).
    ///
    /// - Parameters:
    ///   - event: The event's bytes (do not need to be NUL-terminated).
    ///   - position: Where it came from (line number or offset), stored with the row.
    ///   - batch: The batch to append to; its columns must match the schema.
    /// - Returns: nil when a row was appended, otherwise why the event was rejected
    ///   (``RejectReason/emptyLine`` for an empty or all-whitespace event).
    public func decode(_ event: UnsafeRawBufferPointer, position: Int64, into batch: inout EventBatch) -> RejectReason? {
        if event.count > limits.maxEventBytes { return .lineTooLong }
        guard event.count > 0 else { return .emptyLine }
        checkColumns(of: batch)
        // Nesting can never be deeper than the event is long.
        return withScanScratch(longestEvent: event.count) { scratch in
            if let reason = scan(event, scratch: scratch, arena: &batch.bytes) { return reason }
            let values = scratch.values, states = scratch.states
            batch.timestamps.append(EpochMicroseconds(bitPattern: values[CompiledPaths.timestampSlot]))
            batch.positions.append(position)
            let modelSlot = CompiledPaths.modelSlot
            batch.models.append(
                states[modelSlot] == SlotState.present.rawValue ? EventScanner.unpackRange(values[modelSlot]) : .missing)
            // One uniqueness check of the outer arrays instead of one per column.
            batch.numeric.withUnsafeMutableBufferPointer { columns in
                for f in 0..<columns.count {
                    let s = 2 &+ f
                    columns[f].append(states[s] == SlotState.present.rawValue ? Double(bitPattern: values[s]) : .nan)
                }
            }
            let firstCategoricalSlot = 2 &+ paths.numericCount
            batch.categorical.withUnsafeMutableBufferPointer { columns in
                for f in 0..<columns.count {
                    let s = firstCategoricalSlot &+ f
                    columns[f].append(states[s] == SlotState.present.rawValue ? EventScanner.unpackRange(values[s]) : .missing)
                }
            }
            return nil
        }
    }

    @inline(__always)
    func checkColumns(of batch: EventBatch) {
        precondition(
            batch.numeric.count == paths.numericCount && batch.categorical.count == paths.categoricalCount,
            "the batch's columns do not match the decoder's schema")
    }

    /// Per-scan working memory: slot values, slot states and the container bit stack.
    struct ScanScratch {
        let values: UnsafeMutablePointer<UInt64>
        /// One ``SlotState`` byte per slot, in ``stateWords`` whole words (the bytes past the
        /// last slot stay absent), so that resetting and checking them takes a word at a time.
        let states: UnsafeMutablePointer<UInt8>
        let stateWords: Int
        let containerBits: UnsafeMutablePointer<UInt64>
        /// The key sequences learned so far in this run of scans (see ``LearnedKey``), or
        /// nil for a single event.
        var learned: UnsafeMutablePointer<LearnedKey>? = nil
        /// Recent string values per slot (see ``CachedString``), or nil for a single event.
        var strings: UnsafeMutablePointer<CachedString>? = nil
        let slotCount: Int

        /// The words of memory scratch for `slotCount` slots and `depthWords` words of
        /// container bits takes.
        static func words(slotCount: Int, depthWords: Int) -> Int {
            slotCount &+ stateWords(slotCount: slotCount) &+ depthWords
        }

        /// Words of states: one byte per slot, and at least two words, which are reset
        /// without a loop.
        static func stateWords(slotCount: Int) -> Int {
            max((slotCount &+ 7) >> 3, 2)
        }

        /// Scratch over `memory` (``words(slotCount:depthWords:)`` words): values, states,
        /// then container bits.
        init(memory: UnsafeMutablePointer<UInt64>, slotCount: Int) {
            self.slotCount = slotCount
            values = memory
            stateWords = Self.stateWords(slotCount: slotCount)
            states = UnsafeMutableRawPointer(memory + slotCount).bindMemory(to: UInt8.self, capacity: stateWords &* 8)
            containerBits = memory + (slotCount &+ stateWords)
        }

        /// Sets every slot to absent (0).
        @inline(__always)
        func resetStates() {
            let raw = UnsafeMutableRawPointer(states)
            raw.storeBytes(of: 0, as: UInt64.self)
            raw.storeBytes(of: 0, toByteOffset: 8, as: UInt64.self)
            var w = 2
            while w < stateWords {
                raw.storeBytes(of: 0, toByteOffset: w &* 8, as: UInt64.self)
                w &+= 1
            }
        }

        /// Whether no slot holds a field error: absent is 0 and present 1, so a word of states
        /// without any other bit set holds none.
        @inline(__always)
        func allFieldsUsable() -> Bool {
            let raw = UnsafeRawPointer(states)
            var errorBits: UInt64 = 0
            for w in 0..<stateWords { errorBits |= raw.loadUnaligned(fromByteOffset: w &* 8, as: UInt64.self) }
            return errorBits & ~0x0101_0101_0101_0101 == 0
        }

        /// Forgets the cached strings whose bytes were rolled back (from arena offset `mark` on).
        func forgetStrings(from mark: Int) {
            guard let strings else { return }
            for e in 0..<(slotCount &* CompiledPaths.cachedStrings) where strings[e].range >> 32 >= UInt64(mark) {
                strings[e] = CachedString()
            }
        }
    }

    /// Words of container bits for events of at most `longestEvent` bytes: nesting can
    /// never be deeper than the event is long.
    func depthWords(longestEvent: Int) -> Int {
        min(max(limits.maxDepth, 0), longestEvent) >> 6 &+ 1
    }

    /// Runs `body` with scan scratch for events of at most `longestEvent` bytes: one
    /// temporary allocation (on the stack when small).
    ///
    /// - Parameter learning: Whether the scans learn each object's key order (worth it
    ///   for many events in a row, see ``LearnedKey``).
    @inline(__always)
    func withScanScratch<R>(longestEvent: Int, learning: Bool = false, _ body: (ScanScratch) throws -> R) rethrows -> R {
        let slotCount = paths.slotCount
        let words = ScanScratch.words(slotCount: slotCount, depthWords: depthWords(longestEvent: longestEvent))
        return try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: words) { buffer in
            var scratch = ScanScratch(memory: buffer.baseAddress.unsafelyUnwrapped, slotCount: slotCount)
            guard learning else { return try body(scratch) }
            return try withUnsafeTemporaryAllocation(of: LearnedKey.self, capacity: max(paths.learnedCount, 1)) { learned in
                try withUnsafeTemporaryAllocation(of: CachedString.self, capacity: slotCount &* CompiledPaths.cachedStrings) {
                    strings in
                    learned.initialize(repeating: LearnedKey())
                    strings.initialize(repeating: CachedString())
                    if paths.learnedCount > 0 { scratch.learned = learned.baseAddress }
                    scratch.strings = strings.baseAddress
                    return try body(scratch)
                }
            }
        }
    }

    /// Scans one non-empty event into the scratch slots, appending its strings to `arena`.
    ///
    /// - Returns: nil when the event is valid and every field usable (its values are then in
    ///   `scratch`), otherwise why it is rejected; the arena is then as it was.
    @inline(__always)
    func scan(_ event: UnsafeRawBufferPointer, scratch: ScanScratch, arena: inout [UInt8]) -> RejectReason? {
        let slotCount = paths.slotCount
        let states = scratch.states
        var scanner = scanner(for: event, scratch: scratch)
        let arenaMark = arena.count
        guard scanner.scanEvent(arena: &arena) else {
            rollBack(&arena, to: arenaMark, scratch: scratch)
            if scanner.error == .malformedJSON, isBlank(event) { return .emptyLine }
            return scanner.error
        }
        // Field errors, in schema order.
        let timestampState = states[CompiledPaths.timestampSlot]
        if timestampState == SlotState.absent.rawValue {
            rollBack(&arena, to: arenaMark, scratch: scratch)
            return .missingTimestamp
        }
        if !scratch.allFieldsUsable() {
            for s in 0..<slotCount {
                if let reason = SlotState(rawValue: states[s])?.rejectReason {
                    rollBack(&arena, to: arenaMark, scratch: scratch)
                    return reason
                }
            }
        }
        return nil
    }

    /// ``scan(_:scratch:arena:)`` of the line at the start of `text`, without finding its
    /// end first (see ``EventScanner/scanLineEvent(atEnd:arena:)``).
    ///
    /// - Returns: The length of the line's content (without its LF or CRLF) when the event
    ///   is accepted; nil when the line must be found and scanned alone (it may be invalid,
    ///   too long, or just shaped unusually). The arena is then as it was.
    @inline(__always)
    func scanLine(_ text: UnsafeRawBufferPointer, scratch: ScanScratch, arena: inout [UInt8]) -> Int? {
        // A line longer than the limit is rejected without being scanned: scan no further.
        let limit = limits.maxEventBytes &+ 2
        let atEnd = text.count <= limit
        let event = atEnd ? text : UnsafeRawBufferPointer(rebasing: text[0..<limit])
        var scanner = scanner(for: event, scratch: scratch)
        let arenaMark = arena.count
        let length = scanner.scanLineEvent(atEnd: atEnd, arena: &arena) ? scanner.i : Int.max
        guard length <= limits.maxEventBytes,
            scratch.states[CompiledPaths.timestampSlot] != SlotState.absent.rawValue, scratch.allFieldsUsable()
        else {
            rollBack(&arena, to: arenaMark, scratch: scratch)
            return nil
        }
        return length
    }

    /// A scanner over `event` with every slot reset to absent.
    @inline(__always)
    func scanner(for event: UnsafeRawBufferPointer, scratch: ScanScratch) -> EventScanner {
        scratch.resetStates()
        return EventScanner(
            event: event, maxDepth: limits.maxDepth, paths: paths,
            values: scratch.values, states: scratch.states, containerBits: scratch.containerBits, learned: scratch.learned,
            strings: scratch.strings)
    }

    @inline(__always)
    func rollBack(_ arena: inout [UInt8], to arenaMark: Int, scratch: ScanScratch) {
        if arena.count > arenaMark {
            arena.removeSubrange(arenaMark...)
            scratch.forgetStrings(from: arenaMark)
        }
    }

    /// Whether a line holds nothing but JSON whitespace.
    @inline(__always)
    func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where b != 0x20 && b != 0x09 && b != 0x0D && b != 0x0A { return false }
        return true
    }

    /// Decodes every line of an NDJSON buffer.
    ///
    /// Lines end with LF or CRLF; a last line without a terminator counts. Blank lines (only
    /// spaces, tabs, CR) are skipped and counted separately; they still take a line number.
    /// With `rejectingBlankLines` they are rejected instead, with ``RejectReason/emptyLine``,
    /// as ``decode(_:position:into:)`` rejects them, so every line is accepted or rejected.
    ///
    /// - Parameters:
    ///   - buffer: Whole lines.
    ///   - firstLine: The position (line number) of the buffer's first line.
    ///   - batch: The batch to append to.
    ///   - rejectingBlankLines: Whether blank lines go to `reject` (default: counted in `blank`).
    ///   - reject: Called with the position, reason and bytes (without the line terminator)
    ///     of each rejected line; the bytes are valid only during the call.
    /// - Returns: How many lines were accepted, rejected and blank.
    /// - Throws: Whatever `reject` throws; decoding stops there, and the batch then holds an
    ///   unspecified part of the buffer's events (discard it).
    public func decodeLines(
        _ buffer: UnsafeRawBufferPointer, firstLine: Int64, into batch: inout EventBatch,
        rejectingBlankLines: Bool = false,
        reject: (Int64, RejectReason, UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> (accepted: Int, rejected: Int, blank: Int) {
        guard let base = buffer.baseAddress else { return (0, 0, 0) }
        let count = buffer.count
        // Rows are staged column by column in a small buffer and appended to the batch a
        // block at a time: one capacity and uniqueness check per column per block instead of
        // per row. The caller cannot see the batch before this returns, so the order of
        // appends is unobservable; arena bytes are appended right away, so ranges stay valid.
        let rowsPerBlock = StagedRows.rowsPerBlock
        let numericCount = paths.numericCount, categoricalCount = paths.categoricalCount
        let capacities = StagedRows.capacities(rows: rowsPerBlock, numericCount: numericCount, categoricalCount: categoricalCount)
        var accepted = 0, rejected = 0, blank = 0
        var start = 0
        var line = firstLine
        try withScanScratch(longestEvent: count, learning: true) { scratch in
        try withUnsafeTemporaryAllocation(of: Int64.self, capacity: capacities.integers) { integers in
        try withUnsafeTemporaryAllocation(of: Double.self, capacity: capacities.doubles) { doubles in
        try withUnsafeTemporaryAllocation(of: EventBatch.ByteRange.self, capacity: capacities.ranges) { ranges in
            let rows = StagedRows(
                rows: rowsPerBlock, numericCount: numericCount, categoricalCount: categoricalCount,
                integers: integers.baseAddress.unsafelyUnwrapped, doubles: doubles.baseAddress.unsafelyUnwrapped,
                ranges: ranges.baseAddress.unsafelyUnwrapped)
            var staged = 0
            if count > 0 { checkColumns(of: batch) }
            while start < count {
                var lineEnd = count
                var reason: RejectReason? = nil
                var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
                // The usual line, a valid event: scanned straight away, its end found on the way.
                let scanned = scanLine(
                    UnsafeRawBufferPointer(start: base + start, count: count &- start), scratch: scratch, arena: &batch.bytes)
                var rowScanned = scanned != nil
                if let length = scanned {
                    lineEnd = start &+ length
                    if lineEnd < count && base.load(fromByteOffset: lineEnd, as: UInt8.self) == 0x0D { lineEnd &+= 1 }
                } else {
                    // Anything else: find the line's end, then what ``decode(_:position:into:)`` does.
                    // The corresponding C function is `memchr` (vectorized in glibc).
                    if let newline = memchr(base + start, 0x0A, count &- start) {
                        lineEnd = UnsafeRawPointer(newline) - base
                    }
                    var contentEnd = lineEnd
                    if contentEnd > start && base.load(fromByteOffset: contentEnd &- 1, as: UInt8.self) == 0x0D {
                        contentEnd &-= 1
                    }
                    bytes = UnsafeRawBufferPointer(start: base + start, count: contentEnd &- start)
                    if isBlank(bytes) {
                        if rejectingBlankLines { reason = .emptyLine } else { blank &+= 1 }
                    } else if bytes.count > limits.maxEventBytes {
                        reason = .lineTooLong
                    } else {
                        reason = scan(bytes, scratch: scratch, arena: &batch.bytes)
                        rowScanned = reason == nil
                    }
                }
                if rowScanned {
                    rows.stage(scratch, position: line, row: staged)
                    staged &+= 1
                    if staged == rowsPerBlock {
                        rows.append(staged, to: &batch)
                        staged = 0
                    }
                    accepted &+= 1
                }
                if let reason {
                    rejected &+= 1
                    try reject(line, reason, bytes)
                }
                line &+= 1
                start = lineEnd &+ 1
            }
            rows.append(staged, to: &batch)
        }
        }
        }
        }
        return (accepted, rejected, blank)
    }
}
