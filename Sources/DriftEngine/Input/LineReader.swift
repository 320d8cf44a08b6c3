#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a ``ByteSource`` into lines (LF or CRLF), with a bound on line length that
/// keeps memory bounded whatever the input: an overlong line is reported once with
/// a prefix and skipped up to its newline, never buffered whole.
public final class LineReader {
    public enum Line {
        /// A line without its terminator (valid until the next call).
        case text(UnsafeRawBufferPointer, number: Int64)
        /// A line longer than the limit, and its first bytes.
        case tooLong(number: Int64, prefix: UnsafeRawBufferPointer)
    }

    public let source: ByteSource
    public let maxLineBytes: Int
    var buffer: [UInt8] = []
    var start = 0
    var lineNumber: Int64 = 0
    var skipping = false
    var finished = false

    public init(source: ByteSource, maxLineBytes: Int) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        buffer.reserveCapacity(ByteSource.chunkSize * 2)
    }

    /// Lines read so far.
    public var linesRead: Int64 { lineNumber }

    /// Calls `body` for every complete line of the next chunk of input.
    ///
    /// - Returns: `false` once the input is exhausted (the last line, even without a
    ///   final newline, has been delivered).
    public func nextLines(_ body: (Line) throws -> Void) throws -> Bool {
        if finished { return false }
        // Drop what was consumed, keep the partial line.
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let more = try source.read(appendingTo: &buffer)
        try buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            var lineStart = 0
            while lineStart < raw.count {
                let rest = raw.count - lineStart
                guard let nl = memchr(base + lineStart, 0x0A, rest) else { break }
                let end = base.distance(to: UnsafeRawPointer(nl))
                try deliver(raw, lineStart, end, body)
                lineStart = end + 1
            }
            start = lineStart
            if !more, start < raw.count {
                try deliver(raw, start, raw.count, body)
                start = raw.count
            }
        }
        if !more {
            finished = true
            return false
        }
        // A partial line beyond the limit: report it now and skip to its newline.
        if !skipping, buffer.count - start > maxLineBytes {
            lineNumber += 1
            let prefixEnd = start + Swift.min(1024, buffer.count - start)
            try buffer.withUnsafeBytes { raw in
                try body(.tooLong(number: lineNumber, prefix: UnsafeRawBufferPointer(rebasing: raw[start..<prefixEnd])))
            }
            skipping = true
            start = buffer.count
        } else if skipping {
            start = buffer.count
        }
        return true
    }

    func deliver(_ raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, _ body: (Line) throws -> Void) throws {
        if skipping {
            // The rest of an overlong line, already reported.
            skipping = false
            return
        }
        lineNumber += 1
        var end = to
        if end > from && raw[end - 1] == 0x0D { end -= 1 }
        if end - from > maxLineBytes {
            let prefixEnd = from + Swift.min(1024, end - from)
            try body(.tooLong(number: lineNumber, prefix: UnsafeRawBufferPointer(rebasing: raw[from..<prefixEnd])))
        } else {
            try body(.text(UnsafeRawBufferPointer(rebasing: raw[from..<end]), number: lineNumber))
        }
    }
}
