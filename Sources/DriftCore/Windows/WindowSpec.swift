/// Event-time windows `[start, end)` aligned to the Unix epoch: tumbling when the
/// slide equals the size, hopping when it is smaller (the size must then be a
/// multiple of the slide, so every event belongs to exactly `size / slide` windows).
public struct WindowSpec: Sendable, Hashable {
    public let size: EpochMicroseconds
    public let slide: EpochMicroseconds
    /// How far behind the newest event time an event may arrive and still count.
    public let lateness: EpochMicroseconds

    /// - Returns: `nil` when the sizes are not positive or the size is not a multiple of the slide.
    public init?(size: EpochMicroseconds, slide: EpochMicroseconds, lateness: EpochMicroseconds) {
        guard size > 0, slide > 0, slide <= size, size % slide == 0, lateness >= 0 else { return nil }
        self.size = size
        self.slide = slide
        self.lateness = lateness
    }

    /// Windows each event belongs to.
    public var windowsPerEvent: Int { Int(size / slide) }

    /// The latest event time whose windows all end within the year 9999 (before
    /// 10000-01-01T00:00:00Z, which RFC 3339 cannot write): later events are rejected as
    /// future timestamps, whatever the future limit.
    public var latestEventTime: EpochMicroseconds {
        let lastStart = EventTime.latest - size  // a window starting here ends at `EventTime.latest`
        let k = lastStart >= 0 ? lastStart / slide : (lastStart - slide + 1) / slide
        return (k + 1) * slide - 1
    }

    /// The newest event time accepted under `futureLimit` (see ``latestEventTime``).
    public func newestAccepted(futureLimit: EpochMicroseconds) -> EpochMicroseconds {
        min(futureLimit, latestEventTime)
    }

    /// Index `k` of the newest window containing `t`: it starts at `k * slide`.
    /// The event also belongs to windows `k - 1`, …, `k - windowsPerEvent + 1`.
    @inline(__always)
    public func newestWindowIndex(containing t: EpochMicroseconds) -> Int64 {
        // Floor division, correct for times before 1970 too.
        let q = t / slide
        return (t % slide != 0 && t < 0) ? q - 1 : q
    }

    /// Start of window `k`.
    public func start(ofWindow k: Int64) -> EpochMicroseconds { k &* slide }
    /// End (exclusive) of window `k`.
    public func end(ofWindow k: Int64) -> EpochMicroseconds { k &* slide &+ size }
}
