#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import DriftCore

/// Cuts a ``ByteSource`` into lines (LF or CRLF), with a bound on line length that
/// keeps memory bounded whatever the input: an overlong line is reported once with
/// a prefix and skipped up to its newline, never buffered whole.
///
/// Lines come in runs, as many whole lines as a chunk of input holds, so a decoder
/// can take a run in one call (``JSONEventDecoder/decodeLines(_:firstLine:into:rejectingBlankLines:reject:)``)
/// instead of one call per line.
public final class LineReader {
    public enum Run {
        /// Whole lines, each within the limit, numbered from `firstLine`: every one ends
        /// with LF (CR LF) except perhaps the last line of the input. Valid until the next call.
        /// The body returns how many lines it found in the run: the reader does not count
        /// them itself when it can tell every line is within the limit without finding them.
        case lines(UnsafeRawBufferPointer, firstLine: Int64)
        /// A line longer than the limit, and its first bytes.
        case tooLong(number: Int64, prefix: UnsafeRawBufferPointer)
    }

    public let source: ByteSource
    public let maxLineBytes: Int
    /// Reads the source on another thread into a ring of chunk buffers.
    let readAhead: ReadAhead
    /// The chunk being cut into lines (a slot of `readAhead`), if any.
    var current: Int?
    /// Content of `current` not yet delivered is `[start, end)`: between calls, at most a
    /// partial line, which moves into the headroom before the next chunk.
    var start = 0
    var end = 0
    var lineNumber: Int64 = 0
    var skipping = false
    var finished = false

    public convenience init(source: ByteSource, maxLineBytes: Int) {
        self.init(source: source, maxLineBytes: maxLineBytes, tailDecoder: nil)
    }

    /// - Parameters:
    ///   - tailDecoder: Decodes the tails of chunks on the reading thread once
    ///     ``decodeTails()`` is called (see ``ReadAhead``); its limits must match.
    ///   - tailMinimumBytes: Chunks shorter than this are not split.
    init(source: ByteSource, maxLineBytes: Int, tailDecoder: JSONEventDecoder?, tailMinimumBytes: Int = 1 << 16) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        // A kept partial line is at most `maxLineBytes` plus the CR of a CR LF.
        readAhead = ReadAhead(
            source: source, headroom: maxLineBytes + 1, tailDecoder: tailDecoder, tailMinimumBytes: tailMinimumBytes)
    }

    /// From the next chunks on, their tails come decoded (the input is NDJSON).
    func decodeTails() {
        readAhead.decodeTails()
    }

    deinit {
        readAhead.stop()
    }

    /// Lines read so far.
    public var linesRead: Int64 { lineNumber }

    /// Calls `body` with the complete lines of the next chunk of input, in order: runs of
    /// lines within the limit and, between them, each overlong line.
    ///
    /// - Returns: `false` once the input is exhausted (the last line, even without a
    ///   final newline, has been delivered).
    public func nextRuns(_ body: (Run) throws -> Int64) throws -> Bool {
        try nextRuns(body) { _, _, _ in preconditionFailure("tails are decoded only after decodeTails()") }
    }

    /// ``nextRuns(_:)``, with the chunk tails decoded on the reading thread: `tail` gets
    /// the tail, the line number of its first line and its text (valid until the next call,
    /// as runs are), in order with the runs.
    func nextRuns(
        _ body: (Run) throws -> Int64, tail: (ReadAhead.Tail, Int64, UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        if finished { return false }
        let (slot, count) = try readAhead.take()
        let chunk = readAhead.slots[slot]
        let headroom = readAhead.headroom
        // The partial line goes just before the new content, so it continues there.
        let carried = end - start
        if let current {
            if carried > 0 {
                (chunk.baseAddress! + (headroom - carried)).copyMemory(
                    from: readAhead.slots[current].baseAddress! + start, byteCount: carried)
            }
            readAhead.release(current)
        }
        current = slot
        start = headroom - carried
        end = headroom + count
        let more = count > 0
        let decodedTail = readAhead.tails[slot].range
        if more && !decodedTail.isEmpty {
            // The lines before the tail (it starts after an LF), the tail, then the rest.
            try deliverLines(UnsafeRawBufferPointer(rebasing: chunk[start..<decodedTail.lowerBound]), more: true, body)
            try tail(readAhead.tails[slot], lineNumber + 1, UnsafeRawBufferPointer(rebasing: chunk[decodedTail]))
            lineNumber += Int64(readAhead.tails[slot].lines)
            start = decodedTail.upperBound
        } else {
            try deliverLines(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), more: more, body)
        }
        if !more {
            finished = true
            return false
        }
        // A partial line beyond the limit: report it now and skip to its newline. A CR at
        // its end may be the first half of a CR LF, so it does not count (else where the
        // reads cut the line would decide whether a line of exactly the limit is too long).
        var partial = end - start
        if partial > 0 && chunk[end - 1] == 0x0D { partial -= 1 }
        if !skipping, partial > maxLineBytes {
            lineNumber += 1
            let prefixEnd = start + Swift.min(1024, partial)
            _ = try body(.tooLong(number: lineNumber, prefix: UnsafeRawBufferPointer(rebasing: chunk[start..<prefixEnd])))
            skipping = true
            start = end
        } else if skipping {
            start = end
        }
        return true
    }

    /// Delivers the complete lines of `raw` (the chunk's content from ``start``), and its
    /// last line when the input has ended (`more` is false); moves ``start`` past them.
    func deliverLines(_ raw: UnsafeRawBufferPointer, more: Bool, _ body: (Run) throws -> Int64) throws {
        let base = raw.baseAddress!
        // The usual chunk: its complete lines go out as one run, without finding each line,
        // when no line can be over the limit (the body counts them).
        if !skipping {
            var runEnd = raw.count
            if more {
                // Up to the last LF.
                while runEnd > 0 && raw[runEnd - 1] != 0x0A { runEnd -= 1 }
            }
            if runEnd > 0 && Self.linesAreWithin(maxLineBytes, UnsafeRawBufferPointer(rebasing: raw[0..<runEnd])) {
                lineNumber += try body(.lines(UnsafeRawBufferPointer(rebasing: raw[0..<runEnd]), firstLine: lineNumber + 1))
                start += runEnd
                return
            }
        }
        var runStart = 0
        var runFirstLine = lineNumber + 1
        var lineStart = 0
        /// Takes the line [lineStart, lineEnd) (its LF, if any, at `lineEnd`).
        func take(_ lineEnd: Int) throws {
            defer { lineStart = lineEnd + 1 }
            if skipping {
                // The rest of an overlong line, already reported.
                skipping = false
                runStart = lineEnd + 1
                return
            }
            lineNumber += 1
            var contentEnd = lineEnd
            if contentEnd > lineStart && raw[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            guard contentEnd - lineStart > maxLineBytes else { return }
            if runStart < lineStart {
                _ = try body(.lines(UnsafeRawBufferPointer(rebasing: raw[runStart..<lineStart]), firstLine: runFirstLine))
            }
            let prefixEnd = lineStart + Swift.min(1024, contentEnd - lineStart)
            _ = try body(.tooLong(number: lineNumber, prefix: UnsafeRawBufferPointer(rebasing: raw[lineStart..<prefixEnd])))
            runStart = lineEnd + 1
            runFirstLine = lineNumber + 1
        }
        while lineStart < raw.count {
            guard let nl = memchr(base + lineStart, 0x0A, raw.count - lineStart) else { break }
            try take(base.distance(to: UnsafeRawPointer(nl)))
        }
        if !more, lineStart < raw.count {
            try take(raw.count)
        }
        let runEnd = Swift.min(lineStart, raw.count)
        if runStart < runEnd {
            _ = try body(.lines(UnsafeRawBufferPointer(rebasing: raw[runStart..<runEnd]), firstLine: runFirstLine))
        }
        start += runEnd
    }

    /// Whether every line of `text` (complete lines: it ends with an LF, or is the input's
    /// end) is at most `limit` bytes long, told without finding every line: from each point
    /// on, the last LF within `limit` bytes ends every line that starts before it, so a few
    /// backward searches over a chunk of short lines suffice. `false` may also mean a line
    /// of just the limit ending with CR LF; the caller then checks line by line.
    static func linesAreWithin(_ limit: Int, _ text: UnsafeRawBufferPointer) -> Bool {
        var from = 0
        while text.count - from > limit {
            var lf = from + limit
            while lf >= from && text[lf] != 0x0A { lf -= 1 }
            if lf < from { return false }
            from = lf + 1
        }
        return true
    }

    /// The first line of `text` without its terminator (LF or CR LF), and what follows it.
    ///
    /// - Returns: nil when `text` is empty.
    @inline(__always)
    static func firstLine(of text: UnsafeRawBufferPointer) -> (line: UnsafeRawBufferPointer, rest: UnsafeRawBufferPointer)? {
        guard let base = text.baseAddress, text.count > 0 else { return nil }
        var end = text.count
        var next = text.count
        if let nl = memchr(base, 0x0A, text.count) {
            end = base.distance(to: UnsafeRawPointer(nl))
            next = end + 1
        }
        if end > 0 && text[end - 1] == 0x0D { end -= 1 }
        return (UnsafeRawBufferPointer(start: base, count: end), UnsafeRawBufferPointer(rebasing: text[next...]))
    }
}
