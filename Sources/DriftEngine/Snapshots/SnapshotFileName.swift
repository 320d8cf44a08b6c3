import DriftCore
import DriftStats

/// Where a window's snapshot goes in a snapshot directory:
/// `DIR/YYYY-MM-DD/<start>_<end>_<model>.drs`, the day being the UTC day of the window start,
/// times in compact UTC with microseconds (`20261127T101500.000000Z`), so names sort by time.
///
/// The model id is kept readable where it can be: bytes outside `[A-Za-z0-9._-]` (and a
/// leading dot) are written `%XX`; an id longer than 120 such bytes is cut and followed by
/// `~` and the CRC-32C of the whole id. The file holds the exact id; the name is for people
/// and for skipping files outside a time range without reading them.
enum SnapshotFileName {
    static let fileExtension = ".drs"

    static func day(of t: EpochMicroseconds) -> String {
        let days = floorDiv(t, 86_400_000_000)
        let (y, m, d) = TimestampFormat.civil(fromDays: days)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
    }

    /// `YYYYMMDDTHHMMSS.ffffffZ`.
    static func compact(_ t: EpochMicroseconds) -> String {
        let days = floorDiv(t, 86_400_000_000)
        let us = t - days * 86_400_000_000
        let (y, m, d) = TimestampFormat.civil(fromDays: days)
        let s = us / 1_000_000
        return pad(y, 4) + pad(m, 2) + pad(d, 2) + "T" + pad(s / 3600, 2) + pad((s / 60) % 60, 2) + pad(s % 60, 2) + "."
            + pad(us % 1_000_000, 6) + "Z"
    }

    /// Inverse of ``compact(_:)``, `nil` for anything else.
    static func parseCompact<S: StringProtocol>(_ text: S) -> EpochMicroseconds? {
        let b = Array(text.utf8)
        guard b.count == 23, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "."), b[22] == UInt8(ascii: "Z") else { return nil }
        func number(_ r: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in r {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let y = number(0..<4), let mo = number(4..<6), let d = number(6..<8), let h = number(9..<11),
              let mi = number(11..<13), let s = number(13..<15), let f = number(16..<22),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60
        else { return nil }
        let days = TimestampFormat.days(fromYear: y, month: mo, day: d)
        return ((days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000) + f
    }

    /// Start of the UTC day a `YYYY-MM-DD` directory name stands for.
    static func parseDay(_ text: String) -> EpochMicroseconds? {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        guard let y = Int64(text.prefix(4)), let m = Int64(text.dropFirst(5).prefix(2)), let d = Int64(text.suffix(2)),
              (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        return TimestampFormat.days(fromYear: y, month: m, day: d) * 86_400_000_000
    }

    static func escapedModel(_ model: String) -> String {
        var out = ""
        var bytes = 0
        for (i, b) in model.utf8.enumerated() {
            let plain = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || (b == UInt8(ascii: ".") && i > 0)
            if bytes >= 120 {
                var crc = String(CRC32C.checksum(Array(model.utf8)), radix: 16)
                crc = String(repeating: "0", count: 8 - crc.count) + crc
                return out + "~" + crc
            }
            if plain {
                out.unicodeScalars.append(Unicode.Scalar(b))
                bytes += 1
            } else {
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
                bytes += 3
            }
        }
        return out.isEmpty ? "%" : out
    }

    /// The path of a window's snapshot relative to the snapshot directory.
    static func relativePath(model: String, start: EpochMicroseconds, end: EpochMicroseconds) -> (day: String, name: String) {
        (day(of: start), compact(start) + "_" + compact(end) + "_" + escapedModel(model) + fileExtension)
    }

    /// The window (start, end) a snapshot file name stands for, `nil` when it is not one.
    static func window(ofFileName name: String) -> (start: EpochMicroseconds, end: EpochMicroseconds)? {
        guard name.hasSuffix(fileExtension) else { return nil }
        let parts = name.dropLast(fileExtension.count).split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let start = parseCompact(parts[0]), let end = parseCompact(parts[1]) else { return nil }
        return (start, end)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
