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
    /// The most content one ``read(into:)`` asks for.
    public let chunkBytes: Int
    /// How much compressed input is read at a time.
    let compressedReadBytes: Int
    /// File bytes read but not used yet: compressed input, or the start of a plain file
    /// (read before its format was known). Owned: freed in `deinit`.
    let raw: UnsafeMutableRawBufferPointer
    var rawStart = 0
    var rawEnd = 0
    var decompressor: ZstdDecompressor?
    var sniffed = false
    var atEnd = false

    static let chunkSize = 1 << 20
    /// Compressed input expands about five times: read less of it at a time so a chunk
    /// of decompressed text stays in the L2 cache while it is decoded.
    static let compressedChunkSize = 1 << 17

    public convenience init(path: String) throws {
        try self.init(path: path, chunkBytes: ByteSource.chunkSize, compressedReadBytes: ByteSource.compressedChunkSize)
    }

    /// A source with other read sizes (tests use tiny ones to cut lines everywhere).
    init(path: String, chunkBytes: Int, compressedReadBytes: Int) throws {
        precondition(chunkBytes > 0 && compressedReadBytes > 0)
        self.path = path
        self.chunkBytes = chunkBytes
        self.compressedReadBytes = compressedReadBytes
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
        // Room for the four magic bytes, whatever the read size.
        raw = .allocate(byteCount: Swift.max(compressedReadBytes, 4), alignment: 16)
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
    /// A plain file gives one read of at most `out.count` bytes; a zstd file gives what
    /// its next ``compressedReadBytes`` of compressed input decompress to, as far as `out`
    /// has room (the rest comes with the next call).
    ///
    /// - Parameter out: Where the content goes; not empty.
    /// - Returns: How many bytes were written; 0 only at the end of the input.
    public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        precondition(out.count > 0, "ByteSource.read(into:) needs room")
        if atEnd { return 0 }
        if !sniffed {
            sniffed = true
            // A pipe may give fewer bytes than asked for: read until the magic bytes are in.
            while rawEnd < 4 {
                let n = try readFile(into: UnsafeMutableRawBufferPointer(rebasing: raw[rawEnd...]))
                if n == 0 { break }
                rawEnd += n
            }
            if rawEnd >= 4 && Zstd.isFrame(UnsafeRawBufferPointer(rebasing: raw[0..<4])) {
                isCompressed = true
                decompressor = ZstdDecompressor()
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

    /// Appends the next piece of (decompressed) content to `out`.
    ///
    /// - Returns: `false` at the end of the input (nothing appended).
    public func read(appendingTo out: inout [UInt8]) throws -> Bool {
        let before = out.count
        var n = 0
        out.append(contentsOf: repeatElement(0, count: chunkBytes))
        defer { out.removeSubrange((before + n)...) }
        n = try out.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[before...])) }
        return n > 0
    }
}
