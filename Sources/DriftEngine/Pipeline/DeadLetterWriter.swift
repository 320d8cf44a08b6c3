import DriftCore

/// Writes rejected events as NDJSON: where each came from, why, and its bytes.
///
/// `raw` holds the line as text (invalid UTF-8 replaced by U+FFFD, cut at 64 KiB,
/// with `"truncated": true` when cut). Of a line rejected as too long (over 1 MiB) only the
/// first KiB is kept, whatever reached the writer: the file reader never holds more of it,
/// and a 100 MB message from Kafka need not leave 64 KiB of itself in every dead letter.
public final class DeadLetterWriter {
    let writer: FileWriter?
    public private(set) var written: Int64 = 0
    static let rawLimit = 64 << 10
    static let tooLongPrefix = 1 << 10

    /// - Parameter path: Where to write, or `nil` to count only.
    public init(path: String?) throws {
        writer = try path.map { try FileWriter(path: $0) }
    }

    /// Continues a dead-letter file after its first `length` bytes (see ``FileWriter``).
    public init(path: String?, resumingAt length: Int64?) throws {
        writer = try path.map { p in try length.map { try FileWriter(path: p, resumingAt: $0) } ?? FileWriter(path: p) }
    }

    /// Bytes in the file so far (after ``sync()``), `nil` when counting only.
    public var length: Int64? { writer?.bytesWritten }

    /// Makes everything written so far durable.
    public func sync() throws {
        try writer?.sync()
    }

    public func write(source: String, position: Int64, reason: RejectReason, raw: UnsafeRawBufferPointer, eventTime: EpochMicroseconds? = nil) throws {
        written += 1
        guard let writer else { return }
        var w = JSONObjectWriter()
        w.string("source", source)
        w.int("position", Int(position))
        w.string("reason", reason.rawValue)
        if let eventTime { w.string("event_time", TimestampFormat.rfc3339Milliseconds(eventTime)) }
        let limit = reason == .lineTooLong ? Self.tooLongPrefix : Self.rawLimit
        let cut = reason == .lineTooLong || raw.count > limit
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<Swift.min(raw.count, limit)]), as: UTF8.self)
        w.string("raw", text)
        if cut { w.bool("truncated", true) }
        try writer.writeLine(w.finish())
    }

    public func close() throws {
        try writer?.close()
    }
}
