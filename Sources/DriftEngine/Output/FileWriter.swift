#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered writer to a file (or standard output for `-`), with an atomic mode
/// that writes a temporary file, fsyncs it and renames it into place on ``close()``.
public final class FileWriter {
    public let path: String
    let fd: Int32
    let temporaryPath: String?
    var buffer: [UInt8] = []
    var closed = false
    /// Changes (creation, truncation, bytes) not yet fsynced.
    var unsynced = true
    public private(set) var bytesWritten: Int64 = 0

    /// - Parameters:
    ///   - atomic: Write `path.tmp-PID` and rename on close, so readers never see a partial file.
    ///   - mode: Permissions of a created file.
    /// Opens an existing output to continue it after its first `length` bytes: whatever
    /// follows them is cut off (output written after the checkpoint being resumed). A file
    /// shorter than `length` is refused; a missing one is created empty when `length` is 0.
    /// Standard output (`-`) cannot be cut back: it goes on, and a reader sees the records
    /// written after the checkpoint again (with the same ids).
    public init(path: String, resumingAt length: Int64, mode: mode_t = 0o644) throws {
        self.path = path
        temporaryPath = nil
        if path == "-" {
            fd = 1
            bytesWritten = length
            buffer.reserveCapacity(1 << 16)
            return
        }
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError.errno("cannot open", path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.errno("cannot stat", path) }
        guard Int64(st.st_size) >= length else {
            Glibc.close(fd)
            throw FileError("\(path) has \(st.st_size) bytes but the checkpoint counts \(length): it was changed after the checkpoint; move it away or delete the checkpoint directory")
        }
        guard ftruncate(fd, off_t(length)) == 0, lseek(fd, off_t(length), SEEK_SET) >= 0 else {
            Glibc.close(fd)
            throw FileError.errno("cannot cut back", path)
        }
        bytesWritten = length
        buffer.reserveCapacity(1 << 16)
    }

    public init(path: String, atomic: Bool = false, mode: mode_t = 0o644) throws {
        self.path = path
        if path == "-" {
            fd = 1
            temporaryPath = nil
        } else {
            let target = atomic ? "\(path).tmp-\(getpid())" : path
            fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
            guard fd >= 0 else { throw FileError.errno("cannot create", path) }
            temporaryPath = atomic ? target : nil
        }
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        if !closed {
            if let temporaryPath { unlink(temporaryPath) }
            if fd > 2 { Glibc.close(fd) }
        }
    }

    public func write(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes a large block without copying it into the buffer first.
    public func write(_ block: [UInt8]) throws {
        guard block.count >= 1 << 16 else {
            buffer.append(contentsOf: block)
            if buffer.count >= 1 << 16 { try flush() }
            return
        }
        try flush()
        var done = 0
        do {
            try block.withUnsafeBytes { try writeAll($0, done: &done) }
        } catch {
            // The rest waits in the buffer, as in ``flush()``.
            buffer.append(contentsOf: block[done...])
            throw error
        }
    }

    /// Writes `bytes` to the file, through short writes and interruptions.
    ///
    /// - Parameter done: Set to the bytes that reached the file, also when it throws:
    ///   ``bytesWritten`` counts them, so the file and the count never disagree.
    func writeAll(_ bytes: UnsafeRawBufferPointer, done: inout Int) throws {
        done = 0
        defer {
            bytesWritten += Int64(done)
            if done > 0 { unsynced = true }
        }
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno("cannot write", path)
            }
            done += n
        }
    }

    public func writeLine(_ s: String) throws {
        var s = s
        s.withUTF8 { buffer.append(contentsOf: $0) }
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes the buffer out. When the file takes only part of it (a full disk), the part
    /// written leaves the buffer and the rest stays, so a later flush neither repeats nor
    /// loses a byte.
    public func flush() throws {
        var done = 0
        defer {
            if done == buffer.count { buffer.removeAll(keepingCapacity: true) } else { buffer.removeFirst(done) }
        }
        try buffer.withUnsafeBytes { try writeAll($0, done: &done) }
    }

    /// Flushes and fsyncs: everything written so far survives a crash.
    public func sync() throws {
        try flush()
        // EINVAL: a pipe or device such as /dev/null, which has nothing to sync.
        guard fd <= 2 || fsync(fd) == 0 || errno == EINVAL else { throw FileError.errno("cannot sync", path) }
        unsynced = false
    }

    /// Flushes, and for atomic writers fsyncs and renames into place.
    public func close(sync: Bool = false) throws {
        guard !closed else { return }
        try flush()
        closed = true
        if (sync || temporaryPath != nil) && unsynced {
            guard fd <= 2 || fsync(fd) == 0 || errno == EINVAL else {
                let error = FileError.errno("cannot sync", path)
                if fd > 2 { Glibc.close(fd) }
                // A temporary file that could not be made durable is never renamed into place.
                if let temporaryPath { unlink(temporaryPath) }
                throw error
            }
        }
        if fd > 2 { Glibc.close(fd) }
        if let temporaryPath {
            guard rename(temporaryPath, path) == 0 else {
                let error = FileError.errno("cannot rename into", path)
                unlink(temporaryPath)
                throw error
            }
        }
    }
}
