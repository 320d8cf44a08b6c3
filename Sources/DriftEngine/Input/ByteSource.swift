#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import DriftCore
import Synchronization

/// An input or output error with the file it concerns, as one line.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static func errno(_ what: String, _ path: String) -> FileError {
        FileError("\(what) \(path): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// Reads a file (or standard input for `-`) in large chunks, decompressing zstd
/// transparently when the file starts with zstd's magic bytes (whatever its name).
///
/// Content goes straight into the caller's buffer (``read(into:)``): plain files are read
/// into it and zstd decompresses into it, with no copy in between.
///
/// Not thread-safe: one reader (thread) per file.
public final class ByteSource {
    public let path: String
    let fd: Int32
    /// Size of the file on disk (0 for pipes).
    public let fileSize: Int64
    /// Bytes read from the file so far (compressed bytes for zstd input). Safe to read
    /// from any thread (a ``ReadAhead`` reads the source on its own thread).
    public var fileBytesRead: Int64 { fileBytesReadCounter.load(ordering: .relaxed) }
    let fileBytesReadCounter = Atomic<Int64>(0)
    /// Whether the file is zstd-compressed.
    public private(set) var isCompressed = false
    /// The most content one ``read(into:)`` asks for (raised by ``useSegments()``).
    public private(set) var chunkBytes: Int
    /// How much compressed input is read at a time while streaming (segments read what the
    /// next block needs, up to the input buffer's size).
    let compressedReadBytes: Int
    /// File bytes read but not used yet: compressed input, or the start of a plain file
    /// (read before its format was known). Owned: freed in `deinit`.
    let raw: UnsafeMutableRawBufferPointer
    var rawStart = 0
    var rawEnd = 0
    var decompressor: ZstdDecompressor?
    /// Decompresses block by block straight into the caller's chunks, once the caller has
    /// promised to keep them in place (``useSegments()``); nil for streaming.
    var segments: ZstdSegmentDecompressor?
    /// Whether ``useSegments()`` may switch to segments (sources made with tiny read sizes
    /// for tests keep streaming).
    let segmentsAllowed: Bool
    var sniffed = false
    var atEnd = false

    static let chunkSize = 1 << 20
    /// Compressed input expands about five times: while streaming, read less of it at a
    /// time so a piece of decompressed text stays in the L2 cache while it is decoded.
    static let compressedChunkSize = 1 << 17

    public convenience init(path: String) throws {
        try self.init(
            path: path, chunkBytes: ByteSource.chunkSize, compressedReadBytes: ByteSource.compressedChunkSize,
            segmentsAllowed: true)
    }

    /// A source with other read sizes (tests use tiny ones to cut lines everywhere).
    init(path: String, chunkBytes: Int, compressedReadBytes: Int, segmentsAllowed: Bool = false) throws {
        precondition(chunkBytes > 0 && compressedReadBytes > 0)
        self.path = path
        self.chunkBytes = chunkBytes
        self.compressedReadBytes = compressedReadBytes
        self.segmentsAllowed = segmentsAllowed
        if path == "-" {
            fd = 0
            fileSize = 0
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileError.errno("cannot open", path) }
            var st = stat()
            if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                close(fd)
                throw FileError("cannot read \(path): it is a directory")
            }
            fileSize = Int64(st.st_size)
        }
        // Room for the four magic bytes, whatever the read size, and with segments for a
        // whole compressed block and its header.
        let rawBytes = Swift.max(compressedReadBytes, segmentsAllowed ? ZstdSegmentDecompressor.blockBytes + 64 : 4)
        raw = .allocate(byteCount: rawBytes, alignment: 16)
    }

    deinit {
        if fd > 0 { close(fd) }
        raw.deallocate()
    }

    /// Reads up to `buffer.count` file bytes into `buffer`; returns the count (0 at end).
    ///
    /// The corresponding C function is `read`.
    func readFile(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno("cannot read", path)
            }
            fileBytesReadCounter.add(Int64(n), ordering: .relaxed)
            return n
        }
    }

    /// Writes the next piece of (decompressed) content at the start of `out`.
    ///
    /// A plain file gives one read of at most `out.count` bytes. A streamed zstd file gives
    /// what its next ``compressedReadBytes`` of compressed input decompress to, as far as
    /// `out` has room (the rest comes with the next call); with segments
    /// (``useSegments()``), whole blocks until the next one might not fit.
    ///
    /// - Parameter out: Where the content goes; not empty.
    /// - Returns: How many bytes were written; 0 only at the end of the input.
    public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        precondition(out.count > 0, "ByteSource.read(into:) needs room")
        if atEnd { return 0 }
        try sniff()
        if let segments {
            do {
                return try read(segments, into: out)
            } catch let error as ZstdError {
                throw FileError("\(path): zstd stream is damaged (\(error))")
            }
        }
        guard let decompressor else {
            if rawStart < rawEnd {
                // The bytes read while sniffing.
                let n = Swift.min(out.count, rawEnd - rawStart)
                out.baseAddress!.copyMemory(from: raw.baseAddress! + rawStart, byteCount: n)
                rawStart += n
                return n
            }
            let n = try readFile(into: out)
            if n == 0 { atEnd = true }
            return n
        }
        var written = 0
        do {
            while written < out.count {
                if rawStart == rawEnd {
                    // One compressed read's worth per call.
                    if written > 0 { break }
                    rawStart = 0
                    rawEnd = try readFile(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<compressedReadBytes]))
                    if rawEnd == 0 {
                        // End of the file: what zstd still holds, then a check that the
                        // stream ended between frames.
                        written = try decompressor.decompress(
                            UnsafeRawBufferPointer(start: nil, count: 0), into: out).written
                        if written > 0 { break }
                        do {
                            try decompressor.finish()
                        } catch {
                            throw FileError("\(path): zstd stream is truncated or damaged (\(error))")
                        }
                        atEnd = true
                        return 0
                    }
                }
                let (read, wrote) = try decompressor.decompress(
                    UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd]),
                    into: UnsafeMutableRawBufferPointer(rebasing: out[written...]))
                rawStart += read
                written += wrote
            }
        } catch let error as ZstdError {
            throw FileError("\(path): zstd stream is damaged (\(error))")
        }
        return written
    }

    /// Whether zstd is decoded block by block into the chunks (see ``useSegments()``).
    var decodesIntoChunks: Bool { segments != nil }

    /// Reads the first bytes once, to tell zstd from plain content.
    func sniff() throws {
        if sniffed { return }
        // A pipe may give fewer bytes than asked for: read until the magic bytes are in. A
        // read error leaves the source unsniffed, so the next read reports it again.
        while rawEnd < 4 {
            let n = try readFile(into: UnsafeMutableRawBufferPointer(rebasing: raw[rawEnd...]))
            if n == 0 { break }
            rawEnd += n
        }
        sniffed = true
        if rawEnd >= 4 && Zstd.isFrame(UnsafeRawBufferPointer(rebasing: raw[0..<4])) {
            isCompressed = true
            decompressor = ZstdDecompressor()
        }
    }

    /// The caller keeps every chunk it was given in place and unchanged until the next
    /// chunk is complete (``ReadAhead``'s ring does): zstd input may then be decompressed
    /// block by block straight into the chunks (``ZstdSegmentDecompressor``), which saves
    /// zstd copying everything out of its own window buffer. ``chunkBytes`` grows to the
    /// first frame's window plus a block; frames with larger windows than fit are streamed.
    ///
    /// Call before the first read, on the thread that creates the chunks.
    func useSegments() throws {
        guard segmentsAllowed, !sniffed else { return }
        try sniff()
        guard decompressor != nil else { return }
        var header = try? ZstdSegmentDecompressor.frameHeader(UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd]))
        while case .needs(let n) = header {
            guard try fillRaw(atLeast: n) else { return }
            header = try? ZstdSegmentDecompressor.frameHeader(UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd]))
        }
        guard case .frame(let window) = header, window <= ZstdSegmentDecompressor.maxWindow else { return }
        chunkBytes = Swift.max(chunkBytes, ZstdSegmentDecompressor.segmentBytes(window: window))
        segments = ZstdSegmentDecompressor()
        decompressor = nil
    }

    /// Makes at least `count` unread compressed bytes contiguous in `raw` (moving what is
    /// left to its start and reading more); `false` when the file ends first.
    func fillRaw(atLeast count: Int) throws -> Bool {
        if rawEnd - rawStart >= count { return true }
        precondition(count <= raw.count, "a zstd step larger than the input buffer")
        if rawStart > 0 {
            memmove(raw.baseAddress!, raw.baseAddress! + rawStart, rawEnd - rawStart)
            rawEnd -= rawStart
            rawStart = 0
        }
        while rawEnd - rawStart < count {
            let n = try readFile(into: UnsafeMutableRawBufferPointer(rebasing: raw[rawEnd...]))
            if n == 0 { return false }
            rawEnd += n
        }
        return true
    }

    /// ``read(into:)`` with segments: fills `out` with whole blocks until the next block
    /// might not fit (or the input ends).
    func read(_ segments: ZstdSegmentDecompressor, into out: UnsafeMutableRawBufferPointer) throws -> Int {
        var written = 0
        let truncated = FileError("\(path): zstd stream is truncated or damaged (it ends inside a frame)")
        while true {
            if !segments.isInsideFrame {
                // Between frames: the end, a skippable frame, or a frame to check.
                guard try fillRaw(atLeast: 1) else {
                    atEnd = written == 0
                    return written
                }
                var header = try ZstdSegmentDecompressor.frameHeader(UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd]))
                while case .needs(let n) = header {
                    guard try fillRaw(atLeast: n) else { throw truncated }
                    header = try ZstdSegmentDecompressor.frameHeader(UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd]))
                }
                switch header {
                case .skippable(var bytes):
                    while bytes > 0 {
                        guard try fillRaw(atLeast: 1) else { throw truncated }
                        let k = Swift.min(bytes, rawEnd - rawStart)
                        rawStart += k
                        bytes -= k
                    }
                    continue
                case .frame(let window) where ZstdSegmentDecompressor.segmentBytes(window: window) > chunkBytes:
                    // Too large a window for these chunks: stream from this frame on.
                    self.segments = nil
                    decompressor = ZstdDecompressor()
                    return written > 0 ? written : try read(into: out)
                case .frame, .needs:
                    try segments.beginFrame()
                }
            }
            if segments.nextIsBlock && out.count - written < ZstdSegmentDecompressor.blockBytes { return written }
            let need = segments.nextInputBytes
            guard try fillRaw(atLeast: need) else { throw truncated }
            written += try segments.step(
                UnsafeRawBufferPointer(rebasing: raw[rawStart..<(rawStart + need)]),
                into: UnsafeMutableRawBufferPointer(rebasing: out[written...]))
            rawStart += need
        }
    }

    /// Appends the next piece of (decompressed) content to `out`.
    ///
    /// - Returns: `false` at the end of the input (nothing appended).
    public func read(appendingTo out: inout [UInt8]) throws -> Bool {
        precondition(segments == nil, "a growing array does not keep chunks in place")
        let before = out.count
        var n = 0
        out.append(contentsOf: repeatElement(0, count: chunkBytes))
        defer { out.removeSubrange((before + n)...) }
        n = try out.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[before...])) }
        return n > 0
    }
}
