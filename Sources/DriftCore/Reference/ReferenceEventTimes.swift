/// When a reference's events happened: the first and last event time and how many events
/// there were, so that a window's event volume can be compared with the reference's rate.
///
/// Profiles of format 1.0 do not have it; a window compared with such a profile has no
/// expected volume (``ClosedWindow/expectedEvents`` is `nil`).
public struct ReferenceEventTimes: Sendable, Hashable {
    public var first: EpochMicroseconds
    public var last: EpochMicroseconds
    public var events: Int

    public init(first: EpochMicroseconds, last: EpochMicroseconds, events: Int) {
        self.first = first
        self.last = last
        self.events = events
    }

    /// Events the reference's rate gives for a span of `duration` microseconds.
    ///
    /// The rate is `(events − 1) / (last − first)`: the mean gap between consecutive events,
    /// which does not count the time before the first and after the last event.
    ///
    /// - Returns: `nil` with fewer than two events or all of them at one instant.
    public func expectedEvents(in duration: EpochMicroseconds) -> Double? {
        guard events >= 2, last > first, duration > 0 else { return nil }
        return Double(events - 1) * Double(duration) / Double(last - first)
    }

    /// Adds the event times of a batch's rows.
    mutating func add(_ timestamps: ArraySlice<EpochMicroseconds>) {
        for t in timestamps { add(t) }
    }

    mutating func add(_ t: EpochMicroseconds) {
        if events == 0 {
            first = t
            last = t
        } else {
            first = Swift.min(first, t)
            last = Swift.max(last, t)
        }
        events += 1
    }

    /// No events yet.
    static let none = ReferenceEventTimes(first: 0, last: 0, events: 0)
}
