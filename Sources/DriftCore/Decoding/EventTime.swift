/// Conversions of event-time field values to ``EpochMicroseconds``.
///
/// A number is read by magnitude: |x| < 1e11 is epoch seconds (until the year 5138),
/// |x| < 1e14 is milliseconds, anything larger is microseconds. A string must be
/// RFC 3339 with an explicit offset. Times outside the years 0001 to 9999 (``earliest``,
/// ``latest``) are rejected: results write window bounds as RFC 3339, which has four-digit
/// years.
public enum EventTime {
    /// 0001-01-01T00:00:00Z, the earliest event time accepted.
    public static let earliest: EpochMicroseconds = -62_135_596_800_000_000
    /// 9999-12-31T23:59:59.999999Z, the latest event time accepted.
    public static let latest: EpochMicroseconds = 253_402_300_799_999_999

    /// Epoch seconds, milliseconds or microseconds (by magnitude) to microseconds.
    ///
    /// Fractional parts are kept to the microsecond (rounded to nearest).
    /// - Returns: nil for NaN, infinities and times outside ``earliest``...``latest``.
    public static func fromEpochNumber(_ x: Double) -> EpochMicroseconds? {
        guard x.isFinite else { return nil }
        let magnitude = x.magnitude
        let micros = magnitude < 1e11 ? x * 1e6 : (magnitude < 1e14 ? x * 1e3 : x)
        let rounded = micros.rounded(.toNearestOrAwayFromZero)
        // `earliest` and `latest + 1` are exact doubles (`latest` itself is not).
        guard rounded >= Double(earliest), rounded < Double(latest + 1) else { return nil }
        return EpochMicroseconds(rounded)
    }

    /// The exact form of ``fromEpochNumber(_:)`` for integers written without fraction or
    /// exponent (a double would round microsecond values above 2^53).
    public static func fromEpochInteger(_ v: Int64) -> EpochMicroseconds? {
        let magnitude = v.magnitude
        let micros: Int64
        if magnitude < 100_000_000_000 {
            micros = v &* 1_000_000
        } else if magnitude < 100_000_000_000_000 {
            micros = v &* 1000
        } else {
            micros = v
        }
        return (earliest...latest).contains(micros) ? micros : nil
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    ///
    /// `t` and `z` may be lower case; a space instead of `T` is not accepted. Fraction digits
    /// beyond the sixth are truncated. Second 60 (a leap second) is accepted and counted as
    /// the first second of the next minute. Calendar dates are checked (no February 30).
    /// - Returns: nil for anything else.
    public static func parseRFC3339(_ bytes: UnsafeRawBufferPointer) -> EpochMicroseconds? {
        let n = bytes.count
        guard n >= 20 else { return nil }
        @inline(__always) func digit(_ k: Int) -> Int64? {
            let d = bytes[k] &- 0x30
            return d <= 9 ? Int64(d) : nil
        }
        @inline(__always) func two(_ k: Int) -> Int64? {
            guard let a = digit(k), let b = digit(k + 1) else { return nil }
            return a * 10 + b
        }
        guard let y1 = two(0), let y2 = two(2), bytes[4] == 0x2D, let month = two(5), bytes[7] == 0x2D,
              let day = two(8), bytes[10] == 0x54 || bytes[10] == 0x74,
              let hour = two(11), bytes[13] == 0x3A, let minute = two(14), bytes[16] == 0x3A,
              let second = two(17)
        else { return nil }
        let year = y1 * 100 + y2
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var k = 19
        var fraction: Int64 = 0
        if bytes[k] == 0x2E {
            k += 1
            var digits = 0
            while k < n, let d = digit(k) {
                if digits < 6 { fraction = fraction * 10 + d }
                digits += 1
                k += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 6)..<6 { fraction *= 10 }
        }
        guard k < n else { return nil }
        var offsetMinutes: Int64 = 0
        switch bytes[k] {
        case 0x5A, 0x7A:  // Z z
            k += 1
        case 0x2B, 0x2D:  // + -
            guard n - k >= 6, let oh = two(k + 1), bytes[k + 3] == 0x3A, let om = two(k + 4), oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (bytes[k] == 0x2D ? -1 : 1)
            k += 6
        default:
            return nil
        }
        guard k == n else { return nil }
        let days = TimestampFormat.days(fromYear: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        // Four-digit years cannot overflow; an offset can push the time out of range.
        let t = seconds * 1_000_000 + fraction
        return (earliest...latest).contains(t) ? t : nil
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2:
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            return leap ? 29 : 28
        case 4, 6, 9, 11:
            return 30
        default:
            return 31
        }
    }
}
