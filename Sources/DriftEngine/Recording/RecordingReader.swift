#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftKafka
import DriftStats

/// Reads a recording sequentially, checking every entry's checksum.
///
/// A thread of its own reads the file, decompresses it, cuts it into whole entries and
/// checks their checksums, a few blocks ahead (``RecordingBlocks``); the caller's thread
/// only decodes the entries it is handed. A damaged entry stops the read with an error
/// naming the file and the entry, after the entries before it; a file that ends without
/// its end entry (the recorder was killed) is read up to its last complete entry and
/// reported through ``endedCleanly`` and ``truncated``.
public final class RecordingReader {
    public let path: String
    let blocks: RecordingBlocks
    var atEnd = false
    public private(set) var entries = 0
    public private(set) var endedCleanly = false
    /// The file ends inside an entry or a compressed frame (the recorder did not stop cleanly).
    public private(set) var truncated = false
    /// File bytes (compressed, for a compressed recording) behind the entries handed out.
    public private(set) var fileBytesRead: Int64 = 0
    /// The topic of the last message: messages of one topic share one string instead of
    /// building one each.
    var lastTopic = ""

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.errno("cannot open", path) }
        blocks = RecordingBlocks(fd: fd, path: path)
    }

    deinit { blocks.stop() }

    /// Hands every entry of the next block of the file to `body`.
    ///
    /// - Returns: `false` once the file is exhausted.
    public func read(_ body: (RecordingEntry) throws -> Void) throws -> Bool {
        guard !atEnd else { return false }
        switch blocks.take() {
        case .entries(let bytes, let range, let bytesRead):
            fileBytesRead = bytesRead
            // A malformed entry, or `body` throwing, ends the read: the rest of the block is
            // not skipped silently by a caller that reads on.
            do { try bytes.withUnsafeBytes { raw in
                var at = range.lowerBound
                while at < range.upperBound {
                    // Type, length and checksum (already checked), then the body.
                    let type = raw[at]
                    let length = Int(raw.loadUnaligned(fromByteOffset: at + 1, as: UInt32.self).littleEndian)
                    let entryBody = UnsafeRawBufferPointer(rebasing: raw[(at + 9)..<(at + 9 + length)])
                    guard let entry = decode(type, entryBody) else {
                        throw FileError("\(path): entry \(entries + 1) is malformed")
                    }
                    at += 9 + length
                    entries += 1
                    if case .end = entry { endedCleanly = true }
                    try body(entry)
                }
            } } catch {
                atEnd = true
                throw error
            }
            return true
        case .failure(let error):
            atEnd = true
            throw error
        case .end(let cut, let bytesRead):
            fileBytesRead = bytesRead
            truncated = cut
            atEnd = true
            return false
        }
    }

    func topicName(_ bytes: UnsafeRawBufferPointer) -> String {
        if !bytes.elementsEqual(lastTopic.utf8) {
            lastTopic = String(decoding: bytes, as: UTF8.self)
        }
        return lastTopic
    }

    func decode(_ type: UInt8, _ body: UnsafeRawBufferPointer) -> RecordingEntry? {
        var c = ByteCursor(body)
        switch Recording.EntryType(rawValue: type) {
        case .message:
            guard let topicLength = c.u32(), let topicBytes = c.bytes(Int(topicLength)), let partition = c.u32(),
                  let offset = c.u64(), let timestamp = c.u64(), let keyLength = c.u32()
            else { return nil }
            let topic = topicName(topicBytes)
            var key: UnsafeRawBufferPointer?
            if keyLength != UInt32.max {
                guard let k = c.bytes(Int(keyLength)) else { return nil }
                key = k
            }
            guard let valueLength = c.u32(), let value = c.bytes(Int(valueLength)), let headerCount = c.u16() else { return nil }
            let ts = Int64(bitPattern: timestamp)
            return .message(RecordedMessage(
                topicPartition: TopicPartition(topic, Int32(bitPattern: partition)), offset: Int64(bitPattern: offset),
                timestamp: ts < 0 ? nil : ts, key: key, value: value, headerBytes: c.rest, headerCount: Int(headerCount)))
        case .assignment:
            guard let count = c.u32() else { return nil }
            var partitions: [TopicPartition] = []
            for _ in 0..<count {
                guard let topic = c.string(), let p = c.u32() else { return nil }
                partitions.append(TopicPartition(topic, Int32(bitPattern: p)))
            }
            return .assignment(partitions)
        case .end:
            guard let n = c.u64() else { return nil }
            return .end(messages: n)
        case nil:
            return nil
        }
    }
}

/// The reading thread of a ``RecordingReader``: reads the file, decompresses it, checks the
/// header and cuts the content into blocks of whole entries whose checksums it has checked,
/// handed over through a ring of ``slotCount`` slots (memory stays bounded however far it
/// could run ahead; see ``blockBytes``).
///
/// `@unchecked Sendable`: each slot is written by the reading thread and then read by the
/// consumer, handed over through ``SlotSemaphores``, so one side at a time touches it;
/// the reading thread alone uses the file, the decompressor and the buffer.
final class RecordingBlocks: @unchecked Sendable {
    enum Block {
        /// Whole, checked entries: `bytes[range]`; `bytesRead` file bytes are behind them.
        case entries(bytes: [UInt8], range: Range<Int>, bytesRead: Int64)
        /// Nothing more to read: the file ended; `truncated` when inside an entry or a frame.
        case end(truncated: Bool, bytesRead: Int64)
        /// The read stops here (after the blocks before).
        case failure(any Error)
    }

    static let slotCount = 4
    /// Compressed (or plain) bytes read at a time.
    static let readBytes = 1 << 17
    /// Decompressed bytes after which the entries so far are handed over, whatever is left
    /// of the read: with the ring, the block being filled and the one the consumer holds,
    /// at most `slotCount + 2` blocks of about this size (or one entry) are alive.
    static let blockBytes = 1 << 21
    /// The longest entry body read: a longer length is a damaged entry header. Recordings
    /// hold Kafka records (librdkafka fetches at most 100 MB by default).
    static let maxEntryBytes = 1 << 28

    let path: String
    let slots: UnsafeMutablePointer<Block?>
    let handOff = SlotSemaphores(slots: RecordingBlocks.slotCount)
    /// The next slot the consumer takes (consumer side only).
    var nextToTake = 0

    init(fd: Int32, path: String) {
        self.path = path
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: nil, count: Self.slotCount)
        spawnDetachedThread { [self] in
            read(fd)
            close(fd)
        }
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
    }

    /// Waits for the next block.
    func take() -> Block {
        handOff.acquireFilled()
        let slot = nextToTake
        nextToTake = slot + 1 == Self.slotCount ? 0 : slot + 1
        let block = slots[slot].take()!
        handOff.release()
        return block
    }

    /// Lets the reading thread end at its next block (it keeps this object alive until then).
    func stop() {
        handOff.stop()
    }

    /// The reading thread: blocks until the end of the file, a failure or ``stop()``.
    func read(_ fd: Int32) {
        var slot = 0
        /// Hands a block over; `false` once the consumer has stopped.
        func put(_ block: Block) -> Bool {
            guard handOff.acquireFree() else { return false }
            slots[slot] = block
            slot = slot + 1 == Self.slotCount ? 0 : slot + 1
            handOff.publish()
            return true
        }
        var chunk = [UInt8](repeating: 0, count: Self.readBytes)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.blockBytes + Self.readBytes)
        var start = 0
        var compressed = false
        let decompressor = ZstdDecompressor()
        var headerChecked = false
        var entries = 0
        var bytesRead: Int64 = 0
        /// Hands the whole entries buffered so far to the consumer, each checked, then the
        /// failure that stops the read, if any; `false` when reading ends here.
        func deliver() -> Bool {
            var failure: FileError?
            let (first, end) = buffer.withUnsafeBytes { raw -> (Int, Int) in
                var at = start
                if !headerChecked {
                    guard raw.count - at >= Recording.headerSize else { return (at, at) }
                    let head = UnsafeRawBufferPointer(rebasing: raw[at..<at + Recording.headerSize])
                    guard Array(head.prefix(8)) == Recording.magic else {
                        failure = FileError("\(path): not a recording")
                        return (at, at)
                    }
                    var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: head[8...]))
                    let major = cursor.u16()!, _ = cursor.u16()!, crc = cursor.u32()!
                    guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: head[0..<12])) == crc else {
                        failure = FileError("\(path): recording header checksum mismatch")
                        return (at, at)
                    }
                    guard major <= Recording.majorVersion else {
                        failure = FileError("\(path): recording format \(major).x is newer than this driftline reads (\(Recording.majorVersion).x); upgrade driftline")
                        return (at, at)
                    }
                    at += Recording.headerSize
                    headerChecked = true
                }
                let first = at
                while raw.count - at >= 9 {
                    let length = Int(raw.loadUnaligned(fromByteOffset: at + 1, as: UInt32.self).littleEndian)
                    let crc = raw.loadUnaligned(fromByteOffset: at + 5, as: UInt32.self).littleEndian
                    // A length no recorder writes: a damaged entry header, not one to wait for
                    // (waiting would buffer the rest of the file and call it cut short).
                    guard length <= Self.maxEntryBytes else {
                        failure = FileError("\(path): entry \(entries + 1) is damaged (a length of \(length) bytes)")
                        break
                    }
                    guard raw.count - at - 9 >= length else { break }
                    guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(at + 9)..<(at + 9 + length)])) == crc else {
                        failure = FileError("\(path): entry \(entries + 1) is damaged (checksum mismatch)")
                        break
                    }
                    at += 9 + length
                    entries += 1
                }
                return (first, at)
            }
            if end > first {
                // The buffer goes to the consumer whole; what follows the last whole entry
                // starts the next one.
                let rest = Array(buffer[end...])
                if !put(.entries(bytes: buffer, range: first..<end, bytesRead: bytesRead)) { return false }
                buffer = rest
                buffer.reserveCapacity(Self.blockBytes + Self.readBytes)
                start = 0
            } else {
                start = first
            }
            if let failure {
                _ = put(.failure(failure))
                return false
            }
            return true
        }
        /// Thrown from the decompressor's output callback when reading ends there.
        struct Halt: Error {}
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                _ = put(.failure(FileError.errno("cannot read", path)))
                return
            }
            if n == 0 {
                var truncated = false
                if compressed {
                    do { try decompressor.finish() } catch { truncated = true }
                }
                if !headerChecked {
                    _ = put(.failure(FileError("\(path): not a recording (too short)")))
                    return
                }
                // A recorder that was killed leaves part of an entry (or of a frame): the
                // complete entries before it were handed over.
                if start < buffer.count { truncated = true }
                _ = put(.end(truncated: truncated, bytesRead: bytesRead))
                return
            }
            if bytesRead == 0 {
                compressed = Zstd.isFrame(chunk.prefix(n))
            }
            bytesRead += Int64(n)
            if compressed {
                do {
                    try chunk.withUnsafeBytes { all in
                        try decompressor.decompress(UnsafeRawBufferPointer(rebasing: all[0..<n])) { out in
                            buffer.append(contentsOf: out)
                            // Blocks stay small however far a read decompresses.
                            if buffer.count - start >= Self.blockBytes, !deliver() { throw Halt() }
                        }
                    }
                } catch is Halt {
                    return
                } catch {
                    _ = put(.failure(FileError("\(path): damaged compressed data after \(entries) entries: \(error)")))
                    return
                }
            } else {
                buffer.append(contentsOf: chunk[0..<n])
            }
            if !deliver() { return }
        }
    }
}
