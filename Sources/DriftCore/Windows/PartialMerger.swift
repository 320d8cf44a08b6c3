import DriftStats

/// What one partition reports to the evaluator of a scaled-out run: its final shares of the
/// windows its watermark has passed, and how far that watermark has come.
public struct WindowPartial: Sendable {
    /// `topic/partition`.
    public var partition: String
    /// The partition's watermark when the windows were taken; ``PartialMerger/endOfInput`` once
    /// the partition has ended (every window of it taken).
    public var watermark: EpochMicroseconds
    /// Windows the watermark has passed, each the partition's complete share.
    public var windows: [WindowAggregator.OpenWindow]
    /// The partition's running counts so far, for the pipeline-level alert metrics.
    public var counts: PartitionCounts

    public init(partition: String, watermark: EpochMicroseconds, windows: [WindowAggregator.OpenWindow], counts: PartitionCounts) {
        self.partition = partition
        self.watermark = watermark
        self.windows = windows
        self.counts = counts
    }
}

/// Running counts of one partition.
public struct PartitionCounts: Sendable, Hashable {
    public var messages: Int64 = 0
    public var late: Int64 = 0
    public var rejected: Int64 = 0

    public init(messages: Int64 = 0, late: Int64 = 0, rejected: Int64 = 0) {
        self.messages = messages
        self.late = late
        self.rejected = rejected
    }
}

/// The evaluator of a scaled-out run: merges the partitions' partial aggregates into windows.
///
/// The same rule as ``PartitionedAggregator``, spread over processes: the watermark is the
/// minimum of the watermarks the partitions reported, a window closes when it passes the
/// window's end, and its parts are merged in partition-name order. Every partition's share of a
/// window is final once that partition's own watermark passed the window's end, so the merged
/// window is exactly the one a single process computes over the same messages.
///
/// Reports may come twice (a worker that took a partition over redoes what its previous owner
/// did after the last state it saved): a share of a window is taken once, and a window the
/// partition already reported past is a duplicate. A share that arrives after its window was
/// closed without it (see ``close(endingBy:)``) is counted as late and dropped.
public struct PartialMerger: Sendable {
    /// The watermark of a partition that has ended.
    public static let endOfInput = EpochMicroseconds.max

    public let spec: WindowSpec
    /// Decodes and evaluates merged windows (its own open windows stay empty).
    var evaluator: WindowAggregator
    /// The watermark each partition reported last (`.min` while it has not reported).
    public private(set) var reported: [String: EpochMicroseconds] = [:]
    /// Windows ending at or before this are closed; never decreases.
    public private(set) var closedThrough: EpochMicroseconds = .min
    /// The latest counts of each partition.
    public private(set) var counts: [String: PartitionCounts] = [:]
    /// Shares that were received twice, and shares that came after their window closed.
    public private(set) var duplicates = 0
    public private(set) var lateShares = 0

    struct Key: Hashable {
        var window: Int64
        var model: String
    }

    var pending: [Key: [String: WindowAggregator.State]] = [:]

    public init(spec: WindowSpec, schema: EventSchema, profile: ReferenceProfile, decision: DriftDecision) {
        self.spec = spec
        evaluator = WindowAggregator(spec: spec, schema: schema, profile: profile, decision: decision)
        evaluator.maxModels = .max
    }

    /// Partitions whose reports every window waits for (the source topics' partitions).
    public mutating func expect(_ partitions: some Sequence<String>) {
        for p in partitions where reported[p] == nil { reported[p] = .min }
    }

    /// Windows waiting for partitions, by end.
    public var pendingWindowEnds: [EpochMicroseconds] {
        Set(pending.keys.map { spec.end(ofWindow: $0.window) }).sorted()
    }

    /// The sum of the partitions' latest counts.
    public var totalCounts: PartitionCounts {
        counts.values.reduce(into: PartitionCounts()) { total, c in
            total.messages += c.messages
            total.late += c.late
            total.rejected += c.rejected
        }
    }

    /// Takes a partition's report.
    ///
    /// - Returns: How many of its shares were new.
    @discardableResult
    public mutating func add(_ partial: WindowPartial) -> Int {
        let name = partial.partition
        let prior = reported[name] ?? .min
        var taken = 0
        for w in partial.windows {
            let end = spec.end(ofWindow: w.window)
            if end <= prior {
                duplicates += 1
                continue
            }
            if end <= closedThrough {
                lateShares += 1
                continue
            }
            let key = Key(window: w.window, model: w.model)
            if pending[key]?[name] != nil {
                duplicates += 1
                continue
            }
            pending[key, default: [:]][name] = w.state
            taken += 1
        }
        reported[name] = max(prior, partial.watermark)
        let old = counts[name] ?? PartitionCounts()
        if partial.counts.messages >= old.messages { counts[name] = partial.counts }
        return taken
    }

    /// Closes the windows every partition's watermark has passed, in window-end then model order.
    public mutating func closeReady() -> [ClosedWindow] {
        guard let lowest = reported.values.min(), lowest > closedThrough else { return [] }
        return close(endingBy: lowest)
    }

    /// Closes the windows ending at or before `end` whether or not every partition has passed
    /// them (the evaluator's grace ran out); each says how many partitions it is missing.
    public mutating func close(endingBy end: EpochMicroseconds) -> [ClosedWindow] {
        closedThrough = max(closedThrough, end)
        let spec = self.spec
        let keys = pending.keys.filter { spec.end(ofWindow: $0.window) <= end }.sorted { a, b in
            a.window != b.window ? spec.end(ofWindow: a.window) < spec.end(ofWindow: b.window) : a.model < b.model
        }
        return keys.map { key in
            let parts = pending.removeValue(forKey: key)!
            let names = parts.keys.sorted()
            var state = parts[names[0]]!
            for name in names.dropFirst() { state.merge(parts[name]!) }
            let windowEnd = spec.end(ofWindow: key.window)
            var closed = evaluator.evaluate(.init(window: key.window, model: key.model, state: state))
            closed.missingPartitions = reported.values.count { $0 < windowEnd }
            return closed
        }
    }

    /// Closes every window (end of input).
    public mutating func closeAll() -> [ClosedWindow] {
        guard let newest = pendingWindowEnds.last else { return [] }
        return close(endingBy: newest)
    }
}

// MARK: - Coding

extension PartialMerger {
    /// Reads a partition's report written by ``PartitionedAggregator/encode(_:to:)``.
    public mutating func decodePartial(from r: inout ByteReader) throws(ByteReaderError) -> WindowPartial {
        let partition = try r.string()
        let watermark = try r.i64()
        let counts = PartitionCounts(messages: try r.i64(), late: try r.i64(), rejected: try r.i64())
        let windows = try evaluator.decodeWindows(from: &r)
        return WindowPartial(partition: partition, watermark: watermark, windows: windows, counts: counts)
    }

    /// Writes the evaluator's state (for its checkpoint).
    public func encode(to w: inout ByteWriter) {
        w.i64(closedThrough)
        w.int(duplicates)
        w.int(lateShares)
        let names = reported.keys.sorted()
        w.int(names.count)
        for name in names {
            w.string(name)
            w.i64(reported[name]!)
            let c = counts[name] ?? PartitionCounts()
            w.i64(c.messages)
            w.i64(c.late)
            w.i64(c.rejected)
        }
        let keys = pending.keys.sorted { a, b in a.window != b.window ? a.window < b.window : a.model < b.model }
        w.int(keys.count)
        for key in keys {
            let parts = pending[key]!
            w.int(parts.count)
            for name in parts.keys.sorted() {
                w.string(name)
                evaluator.encodeWindow(key.window, model: key.model, parts[name]!, to: &w)
            }
        }
    }

    /// Restores a state written by ``encode(to:)`` for the same schema, window and profile.
    public init(
        from r: inout ByteReader, spec: WindowSpec, schema: EventSchema, profile: ReferenceProfile, decision: DriftDecision
    ) throws(ByteReaderError) {
        self.init(spec: spec, schema: schema, profile: profile, decision: decision)
        closedThrough = try r.i64()
        duplicates = try r.int()
        lateShares = try r.int()
        for _ in 0..<(try r.count(unit: 40)) {
            let name = try r.string()
            reported[name] = try r.i64()
            counts[name] = PartitionCounts(messages: try r.i64(), late: try r.i64(), rejected: try r.i64())
        }
        for _ in 0..<(try r.count(unit: 8)) {
            for _ in 0..<(try r.count(unit: 8)) {
                let name = try r.string()
                let (window, model, state) = try evaluator.decodeWindow(from: &r)
                let key = Key(window: window, model: model)
                guard pending[key]?[name] == nil else { throw ByteReaderError("share of \(name) in window \(window) stored twice") }
                pending[key, default: [:]][name] = state
            }
        }
    }
}

extension PartitionedAggregator {
    /// Writes a partition's report for a ``PartialMerger``.
    public func encode(_ partial: WindowPartial, to w: inout ByteWriter) {
        w.string(partial.partition)
        w.i64(partial.watermark)
        w.i64(partial.counts.messages)
        w.i64(partial.counts.late)
        w.i64(partial.counts.rejected)
        encode(partial.windows, to: &w)
    }
}
