import DriftCore

/// Decodes CSV rows (RFC 4180 quoting, comma separated, header row naming the
/// columns) into ``EventBatch`` rows. Column names are the config's paths.
///
/// Empty fields are missing values. Quoted fields may contain commas and doubled
/// quotes but not line breaks (each row is one line).
struct CSVEventDecoder {
    let columnCount: Int
    let timestampColumn: Int
    let modelColumn: Int?
    let numericColumns: [Int?]
    let categoricalColumns: [Int?]
    var fields: [Range<Int>] = []
    var unescaped: [UInt8] = []

    init(header: UnsafeRawBufferPointer, schema: EventSchema, path: String) throws {
        var names: [String] = []
        var scratch: [UInt8] = []
        guard let ranges = CSVEventDecoder.split(header, into: &scratch) else {
            throw FileError("\(path): the CSV header is malformed")
        }
        for r in ranges {
            names.append(String(decoding: scratch[r], as: UTF8.self).trimmingCharacters(in: " "))
        }
        columnCount = names.count
        guard let ts = names.firstIndex(of: schema.timestamp) else {
            throw FileError("\(path): the CSV header has no column \"\(schema.timestamp)\" (input.timestamp)")
        }
        timestampColumn = ts
        modelColumn = schema.model.flatMap { names.firstIndex(of: $0) }
        numericColumns = schema.numeric.map { names.firstIndex(of: $0) }
        categoricalColumns = schema.categorical.map { names.firstIndex(of: $0) }
        if numericColumns.allSatisfy({ $0 == nil }) && categoricalColumns.allSatisfy({ $0 == nil }) {
            throw FileError("\(path): the CSV header has none of the configured features")
        }
    }

    /// Splits one line into unescaped fields stored in `out`; nil when quoting is broken.
    static func split(_ line: UnsafeRawBufferPointer, into out: inout [UInt8]) -> [Range<Int>]? {
        out.removeAll(keepingCapacity: true)
        var ranges: [Range<Int>] = []
        var i = 0
        let n = line.count
        while true {
            let fieldStart = out.count
            if i < n && line[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < n {
                    let b = line[i]
                    if b == UInt8(ascii: "\"") {
                        if i + 1 < n && line[i + 1] == UInt8(ascii: "\"") {
                            out.append(b)
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    out.append(b)
                    i += 1
                }
                guard closed, i == n || line[i] == UInt8(ascii: ",") else { return nil }
            } else {
                while i < n && line[i] != UInt8(ascii: ",") {
                    if line[i] == UInt8(ascii: "\"") { return nil }
                    out.append(line[i])
                    i += 1
                }
            }
            ranges.append(fieldStart..<out.count)
            if i == n { return ranges }
            i += 1  // the comma
        }
    }

    mutating func decode(_ line: UnsafeRawBufferPointer, position: Int64, into batch: inout EventBatch) -> RejectReason? {
        guard let ranges = CSVEventDecoder.split(line, into: &unescaped) else { return .malformedJSON }
        guard ranges.count == columnCount else { return .wrongFieldCount }
        guard String(validating: unescaped, as: UTF8.self) != nil else { return .invalidUTF8 }
        let text = unescaped
        func field(_ c: Int) -> ArraySlice<UInt8> { text[ranges[c]] }
        // Timestamp: a number (s/ms/us by magnitude) or RFC 3339.
        let tsField = field(timestampColumn)
        guard !tsField.isEmpty else { return .missingTimestamp }
        let t: EpochMicroseconds?
        if let x = CSVEventDecoder.number(tsField) {
            t = EventTime.fromEpochNumber(x)
        } else {
            t = tsField.withUnsafeBytes { EventTime.parseRFC3339($0) }
        }
        guard let t else { return .invalidTimestamp }
        var values: [Double] = []
        values.reserveCapacity(numericColumns.count)
        for c in numericColumns {
            guard let c, !field(c).isEmpty else {
                values.append(.nan)
                continue
            }
            // `1e999` is a number too large for a double; `1 2` is not a number.
            guard let x = CSVEventDecoder.parsed(field(c)) else { return .notANumber }
            guard x.isFinite else { return .numberOutOfRange }
            values.append(x)
        }
        batch.timestamps.append(t)
        batch.positions.append(position)
        for (f, x) in values.enumerated() { batch.numeric[f].append(x) }
        batch.models.append(modelColumn.map { append(field($0), to: &batch) } ?? .missing)
        for (f, c) in categoricalColumns.enumerated() {
            batch.categorical[f].append(c.map { append(field($0), to: &batch) } ?? .missing)
        }
        return nil
    }

    func append(_ bytes: ArraySlice<UInt8>, to batch: inout EventBatch) -> EventBatch.ByteRange {
        if bytes.isEmpty { return .missing }
        let start = UInt32(batch.bytes.count)
        batch.bytes.append(contentsOf: bytes)
        return EventBatch.ByteRange(start: start, count: UInt32(bytes.count))
    }

    /// A finite decimal number (JSON-like grammar, surrounding spaces allowed), or nil.
    static func number(_ bytes: ArraySlice<UInt8>) -> Double? {
        parsed(bytes).flatMap { $0.isFinite ? $0 : nil }
    }

    /// A decimal number (JSON-like grammar, surrounding spaces allowed; too large a one is
    /// infinite), or nil.
    static func parsed(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard looksNumeric(bytes) else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " "))
    }

    /// Digits, sign, point and exponent only (rejects "nan", "inf", hex floats).
    static func looksNumeric(_ bytes: ArraySlice<UInt8>) -> Bool {
        var digits = false
        for b in bytes {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: " "): continue
            default: return false
            }
        }
        return digits
    }
}
