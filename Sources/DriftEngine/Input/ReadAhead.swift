#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DriftCore
import Synchronization

/// Reads a ``ByteSource`` on a thread of its own, a few chunks ahead of the consumer, so
/// that reading and decompressing overlap with decoding on another core.
///
/// Chunks land in a fixed ring of ``slotCount`` buffers, so memory stays bounded however
/// far the reader could run ahead. Each buffer has ``headroom`` free bytes before its data:
/// the consumer puts the partial line carried over from the previous chunk there, so every
/// line is contiguous without copying the chunk itself.
///
/// Once the consumer knows the input is NDJSON (``decodeTails()``), the reading thread
/// also decodes the last whole lines of each large chunk (``Tail``), numbered from 0:
/// decompressing alone keeps that core less busy than decoding and aggregating keep the
/// consumer's.
///
/// `@unchecked Sendable`: the reading thread and the consumer hand each slot (its bytes,
/// result and tail) to each other through ``SlotSemaphores``, so a slot
/// is only ever touched by one side at a time; per-slot state lives in separate memory
/// (no shared copy-on-write array is mutated); `tailsWanted` is atomic.
final class ReadAhead: @unchecked Sendable {
    /// Whole lines at the end of a chunk, decoded by the reading thread.
    struct Tail {
        /// Where they are in the slot (from just after an LF to just after the chunk's
        /// last LF); empty when the chunk's tail was not decoded.
        var range: Range<Int> = 0..<0
        /// Their events, positions counted from 0.
        var batch: EventBatch
        var rejections: [(line: Int64, reason: RejectReason, raw: UnsafeRawBufferPointer)] = []
        /// Lines in `range`.
        var lines = 0
    }

    let source: ByteSource
    let headroom: Int
    let chunkBytes: Int
    let slotCount: Int
    /// Each slot: `headroom` bytes, then up to `chunkBytes` of content. Freed in `deinit`.
    let slots: [UnsafeMutableRawBufferPointer]
    /// Per slot, what the reading thread read: the content's size (0 at the end), or why
    /// it could not read. Owned.
    let results: UnsafeMutablePointer<Result<Int, any Error>>
    /// Per slot, its decoded tail. Owned.
    let tails: UnsafeMutablePointer<Tail>
    /// Decodes tails of chunks of at least `tailMinimumBytes`; the tail is about
    /// ``tailShare`` of the chunk and holds no overlong line (the consumer reports those
    /// differently).
    let tailDecoder: JSONEventDecoder?
    let tailMinimumBytes: Int
    /// The share of a chunk the reading thread decodes: it starts at `initialTailShare` and
    /// follows whichever side waits (reading thread only). Where the lines are cut does not
    /// change any result, only which core decodes them.
    var tailShare = ReadAhead.initialTailShare
    static let initialTailShare = 0.26
    static let tailShareStep = 0.01
    static let tailShareRange = 0.0...0.6
    /// Set by the consumer when it found no chunk ready (the reading thread is behind).
    let consumerWaited = Atomic<Bool>(false)
    let tailsWanted = Atomic<Bool>(false)
    /// Hands the slots between the reading thread and the consumer.
    let handOff: SlotSemaphores
    /// The next slot the consumer takes (consumer side only).
    var nextToTake = 0

    /// Starts the reading thread.
    ///
    /// - Parameters:
    ///   - source: Read only by the new thread once this returns (its `let` properties and
    ///     ``ByteSource/fileBytesRead`` stay readable).
    ///   - headroom: Free bytes before each chunk, for the longest partial line.
    ///   - tailDecoder: Decodes chunk tails once ``decodeTails()`` is called; its line
    ///     limit must be `headroom - 1`.
    ///   - tailMinimumBytes: Chunks shorter than this are left whole to the consumer.
    ///   - slotCount: Chunks in flight: one being filled, one being decoded, the rest ready.
    init(source: ByteSource, headroom: Int, tailDecoder: JSONEventDecoder? = nil, tailMinimumBytes: Int = 1 << 16, slotCount: Int = 4) {
        precondition(slotCount >= 2 && headroom >= 0)
        // Slots are filled in ring order, so the slot before the one being filled keeps its
        // bytes (the consumer only reads it and writes headrooms): zstd may decode straight
        // into the slots, reading back into the previous one. This reads the first bytes (to
        // see the format and the first frame's window) on the calling thread; a read error
        // is reported again by the reading thread's first read, where it belongs.
        try? source.useSegments()
        self.source = source
        self.headroom = headroom
        self.chunkBytes = source.chunkBytes
        self.slotCount = slotCount
        self.tailDecoder = tailDecoder
        self.tailMinimumBytes = tailMinimumBytes
        slots = (0..<slotCount).map { _ in .allocate(byteCount: headroom + source.chunkBytes, alignment: 64) }
        results = .allocate(capacity: slotCount)
        results.initialize(repeating: .success(0), count: slotCount)
        let schema = tailDecoder?.schema ?? EventSchema(timestamp: "", numeric: [], categorical: [])
        tails = .allocate(capacity: slotCount)
        tails.initialize(
            repeating: Tail(batch: EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count)),
            count: slotCount)
        handOff = SlotSemaphores(slots: slotCount)
        spawnDetachedThread { [self] in read() }
    }

    deinit {
        for slot in slots { slot.deallocate() }
        results.deinitialize(count: slotCount)
        results.deallocate()
        tails.deinitialize(count: slotCount)
        tails.deallocate()
    }

    /// The reading thread: fills slots in ring order until the end of the input or an error.
    func read() {
        var slot = 0
        while true {
            // Balance the decoding between the two threads: take less of it when the consumer
            // had to wait for a chunk, more when every slot is full (the consumer is behind).
            let slotWasFree = handOff.tryAcquireFree()
            if consumerWaited.exchange(false, ordering: .relaxed) {
                tailShare = max(Self.tailShareRange.lowerBound, tailShare - Self.tailShareStep)
            } else if !slotWasFree {
                tailShare = min(Self.tailShareRange.upperBound, tailShare + Self.tailShareStep)
            }
            if !slotWasFree { _ = handOff.acquireFree() }
            if handOff.isStopped { return }
            let result: Result<Int, any Error>
            do {
                let content = UnsafeMutableRawBufferPointer(rebasing: slots[slot][headroom..<(headroom + chunkBytes)])
                result = .success(try source.read(into: content))
            } catch {
                result = .failure(error)
            }
            results[slot] = result
            tails[slot].range = 0..<0
            if case .success(let count) = result, count >= tailMinimumBytes, tailsWanted.load(ordering: .acquiring) {
                decodeTail(slot, count: count)
            }
            handOff.publish()
            guard case .success(let count) = result, count > 0 else { return }
            slot = slot + 1 == slotCount ? 0 : slot + 1
        }
    }

    /// Decodes the last whole lines of the `count` content bytes of `slot`, if it has some.
    func decodeTail(_ slot: Int, count: Int) {
        guard let decoder = tailDecoder else { return }
        let base = UnsafeRawPointer(slots[slot].baseAddress!)
        let contentEnd = headroom + count
        // The tail starts after the first LF at or after the cut and ends after the last LF
        // (found from the end: it is one line from there; `memrchr` is not in Glibc's module).
        // It holds no line longer than a line may be (the consumer reports those itself);
        // the search from the end is bounded by that length too.
        let cut = contentEnd - Int(Double(count) * tailShare)
        var end = contentEnd
        let searchLimit = max(cut, contentEnd - headroom)
        while end > searchLimit && base.load(fromByteOffset: end - 1, as: UInt8.self) != 0x0A { end -= 1 }
        guard cut < end, base.load(fromByteOffset: end - 1, as: UInt8.self) == 0x0A,
            let lf = memchr(base + cut, 0x0A, end - cut)
        else { return }
        let start = base.distance(to: UnsafeRawPointer(lf)) + 1
        guard start < end,
            LineReader.linesAreWithin(headroom - 1, UnsafeRawBufferPointer(start: base + start, count: end - start))
        else { return }
        tails[slot].range = start..<end
        tails[slot].batch.removeAll()
        tails[slot].rejections.removeAll(keepingCapacity: true)
        // Blank lines are rejections, as the consumer reports them.
        let decoded = decoder.decodeLines(
            UnsafeRawBufferPointer(start: base + start, count: end - start), firstLine: 0, into: &tails[slot].batch,
            rejectingBlankLines: true
        ) { line, reason, raw in
            tails[slot].rejections.append((line, reason, raw))
        }
        tails[slot].lines = decoded.accepted + decoded.rejected + decoded.blank
    }

    /// From now on, decode the tails of chunks read (the input is NDJSON).
    func decodeTails() {
        tailsWanted.store(true, ordering: .releasing)
    }

    /// Waits for the next chunk and lends its slot until ``release(_:)``.
    ///
    /// - Returns: The slot and how many content bytes follow its headroom (0 at the end).
    /// - Throws: What reading the source threw.
    func take() throws -> (slot: Int, count: Int) {
        if handOff.acquireFilled() { consumerWaited.store(true, ordering: .relaxed) }
        let slot = nextToTake
        nextToTake = slot + 1 == slotCount ? 0 : slot + 1
        return (slot, try results[slot].get())
    }

    /// Gives a slot back to the reading thread.
    func release(_ slot: Int) {
        handOff.release()
    }

    /// Lets the reading thread end at its next chunk (it keeps this object alive until then).
    func stop() {
        handOff.stop()
    }

}
