import DriftCore

/// A rejected input line: where, why, and its bytes (valid during the callback).
public struct Rejection {
    public var position: Int64
    public var reason: RejectReason
    public var raw: UnsafeRawBufferPointer
}

/// Reads events from an NDJSON or CSV file (zstd or not, told apart by content, not
/// by name) into columnar ``EventBatch``es, reporting every line it cannot use.
///
/// Every line is accounted for: ``accepted`` + ``rejected`` = ``linesRead`` (a CSV
/// header counts as neither; it is ``headerLines``).
public final class EventReader {
    public enum Format: String, Sendable {
        case ndjson
        case csv
    }

    public let lines: LineReader
    public let schema: EventSchema
    public private(set) var format: Format?
    public private(set) var accepted: Int64 = 0
    public private(set) var rejected: Int64 = 0
    public private(set) var rejectedByReason: [RejectReason: Int64] = [:]
    public private(set) var headerLines: Int64 = 0
    let decoder: JSONEventDecoder
    var csv: CSVEventDecoder?
    /// Chunk tails that came decoded from the reading thread, and the longest one in bytes.
    var decodedTails = 0
    var longestDecodedTail = 0

    public convenience init(path: String, schema: EventSchema, limits: DecoderLimits = .init()) throws {
        try self.init(source: ByteSource(path: path), schema: schema, limits: limits)
    }

    /// - Parameter tailMinimumBytes: Chunks of at least this many bytes have their tails
    ///   decoded on the reading thread (see ``ReadAhead``).
    init(source: ByteSource, schema: EventSchema, limits: DecoderLimits, tailMinimumBytes: Int = 1 << 16) {
        self.schema = schema
        decoder = JSONEventDecoder(schema: schema, limits: limits)
        lines = LineReader(
            source: source, maxLineBytes: limits.maxEventBytes, tailDecoder: decoder, tailMinimumBytes: tailMinimumBytes)
    }

    public var path: String { lines.source.path }

    /// The text of line `number` (without its terminator) if the last ``next(into:reject:)``
    /// call read it, valid until the next call: for the dead letter of an event found late
    /// only once its batch reaches the windows. Lines are indexed on the first lookup of a
    /// call, so many lookups cost one pass over the chunk.
    public func lineText(_ number: Int64) -> UnsafeRawBufferPointer? {
        if indexedLines == nil {
            var index: [(number: Int64, text: UnsafeRawBufferPointer)] = []
            for run in runs {
                var rest = run.text
                var n = run.firstLine
                while let (line, next) = LineReader.firstLine(of: rest) {
                    index.append((n, line))
                    n += 1
                    rest = next
                }
            }
            indexedLines = index
        }
        let index = indexedLines!
        // Line numbers grow through the runs; an overlong line between them has none.
        var low = 0, high = index.count
        while low < high {
            let middle = (low + high) / 2
            if index[middle].number < number { low = middle + 1 } else { high = middle }
        }
        return low < index.count && index[low].number == number ? index[low].text : nil
    }

    /// Once the file is read: a warning when it gave no event (empty, or every line
    /// rejected: perhaps not NDJSON or CSV at all), else nil.
    public var unusedWarning: String? {
        if linesRead == 0 { return "\(path) is empty: no events" }
        if accepted == 0 && rejected > 0 {
            return "\(path): none of its \(linesRead) lines is an event (is it NDJSON or CSV with the configured columns?)"
        }
        return nil
    }
    public var linesRead: Int64 { lines.linesRead }

    /// The runs of whole lines of the last ``next(into:reject:)`` call, valid until the next
    /// call, for ``lineText(_:)``; and their lines, indexed on the first lookup.
    var runs: [(text: UnsafeRawBufferPointer, firstLine: Int64)] = []
    var indexedLines: [(number: Int64, text: UnsafeRawBufferPointer)]?

    /// Decodes the next chunk of input, appending events to `batch`.
    ///
    /// - Returns: `false` at the end of the input.
    public func next(into batch: inout EventBatch, reject: (Rejection) throws -> Void) throws -> Bool {
        runs.removeAll(keepingCapacity: true)
        indexedLines = nil
        return try lines.nextRuns { run in
            switch run {
            case .tooLong(let number, let prefix):
                try count(Rejection(position: number, reason: .lineTooLong, raw: prefix), reject)
                return 1
            case .lines(let text, let firstLine):
                runs.append((text, firstLine))
                return try decode(text, firstLine: firstLine, into: &batch, reject)
            }
        } tail: { tail, firstLine, text in
            runs.append((text, firstLine))
            // Decoded on the reading thread, as `decode` would have: report it in order.
            for r in tail.rejections {
                try count(Rejection(position: firstLine + r.line, reason: r.reason, raw: r.raw), reject)
            }
            batch.append(tail.batch, positionOffset: firstLine)
            accepted += Int64(tail.batch.count)
            decodedTails += 1
            longestDecodedTail = max(longestDecodedTail, tail.range.count)
        }
    }

    /// Decodes a run of whole lines: NDJSON in one ``JSONEventDecoder/decodeLines(_:firstLine:into:rejectingBlankLines:reject:)``
    /// call (it stages rows a block at a time), CSV and the lines up to the first
    /// non-blank one line by line.
    ///
    /// - Returns: How many lines `text` holds.
    @discardableResult
    func decode(
        _ text: UnsafeRawBufferPointer, firstLine: Int64, into batch: inout EventBatch, _ reject: (Rejection) throws -> Void
    ) throws -> Int64 {
        var rest = text
        var number = firstLine
        while format != .ndjson, let (line, next) = LineReader.firstLine(of: rest) {
            try decodeLine(line, number: number, into: &batch, reject)
            rest = next
            number += 1
        }
        guard rest.count > 0 else { return number - firstLine }
        // Blank lines are rejected as `decode` rejects them, so every line is accounted for.
        let decoded = try decoder.decodeLines(rest, firstLine: number, into: &batch, rejectingBlankLines: true) {
            position, reason, raw in
            try count(Rejection(position: position, reason: reason, raw: raw), reject)
        }
        accepted += Int64(decoded.accepted)
        return number - firstLine + Int64(decoded.accepted + decoded.rejected + decoded.blank)
    }

    /// Decodes one line (without its terminator), telling the format from the first
    /// non-blank line.
    func decodeLine(
        _ line: UnsafeRawBufferPointer, number: Int64, into batch: inout EventBatch, _ reject: (Rejection) throws -> Void
    ) throws {
        var bytes = line
        if format == nil {
            // A UTF-8 byte order mark is not part of the content.
            if number == 1 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                bytes = UnsafeRawBufferPointer(rebasing: bytes[3...])
            }
            guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else {
                try count(Rejection(position: number, reason: .emptyLine, raw: bytes), reject)
                return
            }
            // CSV only when the line reads as a header: text (in any 8-bit encoding), not JSON.
            // A JSON array, gzip or other binary data is read as NDJSON, so each of its lines
            // is rejected with its reason and the replay goes on.
            if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") || !Self.isText(bytes) {
                format = .ndjson
                lines.decodeTails()
            } else {
                format = .csv
                csv = try CSVEventDecoder(header: bytes, schema: schema, path: path)
                headerLines += 1
                return
            }
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            try count(Rejection(position: number, reason: .emptyLine, raw: bytes), reject)
            return
        }
        let reason: RejectReason?
        if csv != nil {
            reason = csv!.decode(bytes, position: number, into: &batch)
        } else {
            reason = decoder.decode(bytes, position: number, into: &batch)
        }
        if let reason {
            try count(Rejection(position: number, reason: reason, raw: bytes), reject)
        } else {
            accepted += 1
        }
    }

    /// No control characters other than tab (binary data has them; text in UTF-8 or a
    /// legacy 8-bit encoding does not).
    static func isText(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.allSatisfy { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }
    }

    func count(_ r: Rejection, _ reject: (Rejection) throws -> Void) throws {
        rejected += 1
        rejectedByReason[r.reason, default: 0] += 1
        try reject(r)
    }
}

extension EventBatch {
    /// Appends every row of `other` (same columns), shifting positions by `positionOffset`.
    mutating func append(_ other: EventBatch, positionOffset: Int64) {
        let shift = UInt32(bytes.count)
        func shifted(_ ranges: [ByteRange]) -> [ByteRange] {
            ranges.map { $0.isMissing ? .missing : ByteRange(start: $0.start + shift, count: $0.count) }
        }
        bytes.append(contentsOf: other.bytes)
        timestamps.append(contentsOf: other.timestamps)
        positions.append(contentsOf: other.positions.map { $0 + positionOffset })
        models.append(contentsOf: shifted(other.models))
        for f in numeric.indices { numeric[f].append(contentsOf: other.numeric[f]) }
        for f in categorical.indices { categorical[f].append(contentsOf: shifted(other.categorical[f])) }
    }
}
