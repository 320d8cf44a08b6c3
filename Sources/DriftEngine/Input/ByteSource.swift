#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import DriftCore

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
/// Not thread-safe: one reader per file.
public final class ByteSource {
    public let path: String
    let fd: Int32
    /// Size of the file on disk (0 for pipes).
    public let fileSize: Int64
    /// Bytes read from the file so far (compressed bytes for zstd input).
    public private(set) var fileBytesRead: Int64 = 0
    /// Whether the file is zstd-compressed.
    public private(set) var isCompressed = false
    var raw: [UInt8]
    var decompressor: ZstdDecompressor?
    var pendingDecompressed: [UInt8] = []
    var sniffed = false
    var atEnd = false

    static let chunkSize = 1 << 20
    static let compressedChunkSize = 1 << 17

    public init(path: String) throws {
        self.path = path
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
        raw = [UInt8](repeating: 0, count: ByteSource.chunkSize)
    }

    deinit {
        if fd > 0 { close(fd) }
    }

    /// Reads raw file bytes into `raw`; returns the count (0 at end).
    func readRaw() throws -> Int {
        while true {
            // Compressed input expands about five times: read less of it at a time so a
            // chunk of decompressed text stays in the L2 cache while it is decoded.
            let want = isCompressed ? ByteSource.compressedChunkSize : raw.count
            let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno("cannot read", path)
            }
            fileBytesRead += Int64(n)
            return n
        }
    }

    /// Appends the next piece of (decompressed) content to `out`.
    ///
    /// - Returns: `false` at the end of the input (nothing appended).
    public func read(appendingTo out: inout [UInt8]) throws -> Bool {
        if atEnd { return false }
        while true {
            let n = try readRaw()
            if !sniffed {
                sniffed = true
                if n >= 4 && Zstd.isFrame(raw[0..<4]) {
                    isCompressed = true
                    decompressor = ZstdDecompressor()
                }
            }
            guard let decompressor else {
                if n == 0 {
                    atEnd = true
                    return false
                }
                out.append(contentsOf: raw[0..<n])
                return true
            }
            if n == 0 {
                do {
                    try decompressor.finish()
                } catch {
                    throw FileError("\(path): zstd stream is truncated or damaged (\(error))")
                }
                atEnd = true
                return false
            }
            let before = out.count
            do {
                try raw.withUnsafeBytes { buffer in
                    try decompressor.decompress(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { piece in
                        out.append(contentsOf: piece)
                    }
                }
            } catch {
                throw FileError("\(path): zstd stream is damaged (\(error))")
            }
            if out.count > before { return true }
        }
    }
}
