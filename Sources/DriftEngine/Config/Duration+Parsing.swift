/// Parses the durations of the config and command line: an integer with a unit,
/// `ms`, `s`, `m`, `h` or `d` (`250ms`, `30s`, `5m`, `1h`, `7d`).
public enum DurationText {
    /// Microseconds in `text`, or `nil` when it is not `<integer><unit>`.
    public static func microseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1_000), ("s", 1_000_000), ("m", 60_000_000), ("h", 3_600_000_000), ("d", 86_400_000_000)]
        let trimmed = text.trimmingCharacters(in: " ")
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept when what is left is all digits.
            guard !number.isEmpty, number.allSatisfy(\.isASCIIDigitCharacter), let n = Int64(number) else { continue }
            let (product, overflow) = n.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        return nil
    }

    /// `text` as a Swift `Duration`.
    public static func duration(_ text: String) -> Duration? {
        microseconds(text).map { .microseconds($0) }
    }

    /// Writes microseconds back in the largest unit that divides them.
    public static func format(microseconds us: Int64) -> String {
        for (suffix, scale) in [("d", Int64(86_400_000_000)), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000)]
        where us != 0 && us % scale == 0 {
            return "\(us / scale)\(suffix)"
        }
        return us == 0 ? "0s" : "\(us)us"
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
