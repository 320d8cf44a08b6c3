extension Duration {
    /// The duration as a librdkafka `timeout_ms`: whole milliseconds, rounded down and clamped to
    /// `1...Int32.max` (librdkafka reads 0 as "do not wait" and -1 as "wait forever", neither of
    /// which a caller asking for a duration means).
    var librdkafkaTimeoutMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return seconds < 0 ? 1 : Int32.max }
        let total = milliseconds.partialValue + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(1, total))
    }
}
