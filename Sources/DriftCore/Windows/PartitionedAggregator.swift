import DriftStats

/// Event-time windows over a source made of several ordered partitions (Kafka topic
/// partitions, or the partitions of a recording).
///
/// Each partition keeps its own ``WindowAggregator``: its own largest event time, its own
/// watermark and its own share of every open window. An event is late when it is older than
/// its partition's watermark, which depends only on that partition's order of events, so the
/// results do not depend on how partitions interleave. The source's watermark is the minimum
/// over the active (registered, not idle) partitions' watermarks and never goes back; a window
/// closes when it passes the window's end, and its parts are then merged in partition-name
/// order, so the summaries see the same values in the same order on every run.
///
/// A partition that is registered but has sent nothing holds the watermark back until the
/// caller declares it idle. An event of a partition that was idle and is older than the
/// source's watermark falls into a window that may be closed already: it is late as well.
public struct PartitionedAggregator: Sendable {
    public let spec: WindowSpec
    public let schema: EventSchema
    public let decision: DriftDecision
    var parts: [String: WindowAggregator] = [:]
    /// The empty window state of every model a partition has met, shared with the partitions
    /// that meet it later: building one (edges and lookup tables of every feature) costs
    /// about half a millisecond, per partition and model otherwise.
    var emptyStates: [String: WindowAggregator.State] = [:]
    var idle: Set<String> = []
    /// Evaluates merged windows (its own open windows stay empty).
    var evaluator: WindowAggregator
    /// Windows ending at or before this are closed; never decreases.
    public private(set) var watermark: EpochMicroseconds = .min
    /// Events newer than this are rejected as future timestamps (see ``WindowAggregator/futureLimit``).
    public var futureLimit: EpochMicroseconds = .max
    /// Models with windows of their own, per partition (see ``WindowAggregator/maxModels``).
    /// The evaluator itself takes every name the partitions hand it.
    public var maxModels = 1000

    public init(spec: WindowSpec, schema: EventSchema, profile: ReferenceProfile, decision: DriftDecision) {
        self.spec = spec
        self.schema = schema
        self.decision = decision
        evaluator = WindowAggregator(spec: spec, schema: schema, profile: profile, decision: decision)
        evaluator.maxModels = .max
    }

    /// Partition names, sorted.
    public var partitions: [String] { parts.keys.sorted() }
    public var acceptedEvents: Int { parts.values.reduce(0) { $0 + $1.acceptedEvents } }
    public var lateEvents: Int { parts.values.reduce(0) { $0 + $1.lateEvents } }
    /// Open (window, model) parts over all partitions.
    public var openWindowParts: Int { parts.values.reduce(0) { $0 + $1.openWindows } }
    public func isIdle(_ partition: String) -> Bool { idle.contains(partition) }

    /// Makes a partition hold the watermark back from now on, even before its first event.
    public mutating func register(_ partition: String) {
        if parts[partition] == nil {
            // A copy of the evaluator: no events, and it shares the selected profile, the model
            // references and the empty window states instead of building them per partition.
            parts[partition] = evaluator
        }
    }

    /// An idle partition does not hold the watermark back until it sends events again.
    public mutating func setIdle(_ partition: String, _ isIdle: Bool) {
        if isIdle { idle.insert(partition) } else { idle.remove(partition) }
    }

    /// Adds a batch of one partition's events, in that partition's order.
    ///
    /// - Parameter late: Called with the row of every late event.
    ///   - future: Called with the row of every event beyond ``futureLimit``.
    public mutating func add(_ batch: EventBatch, partition: String, late: (Int) -> Void, future: (Int) -> Void = { _ in }) {
        guard batch.count > 0 else { return }
        register(partition)
        idle.remove(partition)
        // Moved out while it works, so the dictionary's copy does not force a copy on write.
        var part = parts.removeValue(forKey: partition)!
        part.floor = watermark
        part.futureLimit = futureLimit
        part.maxModels = maxModels
        let models = part.modelNames.count
        // Shared, not copied: the partition lets go of them before `emptyStates` changes.
        part.emptyStateTemplates = emptyStates
        part.add(batch, late: late, future: future)
        part.emptyStateTemplates = [:]
        if part.modelNames.count > models {
            for s in models..<part.modelNames.count where emptyStates[part.modelNames[s]] == nil {
                emptyStates[part.modelNames[s]] = part.emptyStates[s]
            }
        }
        parts[partition] = part
    }

    /// Closes the windows the source's watermark has passed, in window-end then model order.
    public mutating func closeReady() -> [ClosedWindow] {
        var lowest: EpochMicroseconds?
        for (name, part) in parts where !idle.contains(name) {
            lowest = min(lowest ?? part.watermark, part.watermark)
        }
        guard let lowest, lowest > watermark else { return [] }
        watermark = lowest
        return close(endingBy: watermark)
    }

    /// Closes every open window (end of input). Windows that end at or before the newest
    /// window closed here stay closed: later events for them are late.
    public mutating func closeAll() -> [ClosedWindow] {
        let closed = close(endingBy: nil)
        if let newest = closed.map(\.end).max(), newest > watermark { watermark = newest }
        return closed
    }

    mutating func close(endingBy end: EpochMicroseconds?) -> [ClosedWindow] {
        struct Key: Hashable {
            var window: Int64
            var model: String
        }
        var merged: [Key: WindowAggregator.OpenWindow] = [:]
        for name in parts.keys.sorted() {
            var part = parts.removeValue(forKey: name)!
            for w in part.takeWindows(endingBy: end) {
                let key = Key(window: w.window, model: w.model)
                if merged[key] == nil { merged[key] = w } else { merged[key]!.state.merge(w.state) }
            }
            parts[name] = part
        }
        let spec = self.spec
        let ordered = merged.values.sorted { a, b in
            a.window != b.window ? spec.end(ofWindow: a.window) < spec.end(ofWindow: b.window) : a.model < b.model
        }
        return ordered.map { evaluator.evaluate($0) }
    }
}

// MARK: - Partitions that move between processes

extension PartitionedAggregator {
    /// A partition's own watermark (`nil` when the partition is not here).
    public func watermark(of partition: String) -> EpochMicroseconds? { parts[partition]?.watermark }

    /// Removes and returns a partition's windows that its own watermark has passed (every open
    /// window with `all`), in window then model order.
    ///
    /// No event of the partition can fall into such a window any more (it would be late), so
    /// what is taken is the partition's final share of the window: the partial aggregate a
    /// ``PartialMerger`` merges with the other partitions' shares.
    public mutating func takeClosed(_ partition: String, all: Bool = false) -> [WindowAggregator.OpenWindow] {
        guard var part = parts.removeValue(forKey: partition) else { return [] }
        var taken = part.takeWindows(endingBy: all ? nil : part.watermark)
        parts[partition] = part
        // A final share gets no more values: its moments' incomplete chunk is folded in now,
        // as a merge or an evaluation would do first, so the record carries no raw values.
        for i in taken.indices {
            for f in taken[i].state.numeric.indices { taken[i].state.numeric[f].settle() }
        }
        let spec = self.spec
        return taken.sorted { a, b in
            a.window != b.window ? spec.end(ofWindow: a.window) < spec.end(ofWindow: b.window) : a.model < b.model
        }
    }

    /// Writes one partition's state (its open windows, watermark and counters), so that another
    /// process can take the partition over with ``restorePartition(_:from:)``.
    public func encodePartition(_ partition: String, to w: inout ByteWriter) {
        (parts[partition] ?? evaluator).encodeState(to: &w)
    }

    /// Replaces a partition's state with one written by ``encodePartition(_:to:)``.
    public mutating func restorePartition(_ partition: String, from r: inout ByteReader) throws(ByteReaderError) {
        var part = evaluator
        part.maxModels = maxModels
        try part.decodeState(from: &r)
        parts[partition] = part
        idle.remove(partition)
    }

    /// Forgets a partition (it moved to another process).
    public mutating func remove(_ partition: String) {
        parts.removeValue(forKey: partition)
        idle.remove(partition)
    }

    /// Writes partial aggregates taken with ``takeClosed(_:all:)``.
    public func encode(_ windows: [WindowAggregator.OpenWindow], to w: inout ByteWriter) {
        evaluator.encode(windows, to: &w)
    }
}

// MARK: - Checkpoint coding

extension PartitionedAggregator {
    /// Writes the complete state (open windows of every partition, watermarks, counters).
    public func encode(to w: inout ByteWriter) {
        w.i64(watermark)
        let names = parts.keys.sorted()
        w.int(names.count)
        for name in names {
            w.string(name)
            w.bool(idle.contains(name))
            parts[name]!.encodeState(to: &w)
        }
    }

    /// Restores a state written by ``encode(to:)`` for the same schema, window and profile.
    ///
    /// - Throws: ``ByteReaderError`` when the bytes are inconsistent or do not fit the profile.
    public init(
        from r: inout ByteReader, spec: WindowSpec, schema: EventSchema, profile: ReferenceProfile, decision: DriftDecision
    ) throws(ByteReaderError) {
        self.init(spec: spec, schema: schema, profile: profile, decision: decision)
        watermark = try r.i64()
        let count = try r.count(unit: 1)
        for _ in 0..<count {
            let name = try r.string()
            if try r.bool() { idle.insert(name) }
            register(name)
            try parts[name]!.decodeState(from: &r)
        }
    }
}

extension WindowAggregator {
    func encodeState(to w: inout ByteWriter) {
        w.i64(maxEventTime)
        w.i64(watermark)
        w.int(acceptedEvents)
        w.int(lateEvents)
        let keys = open.keys.sorted { a, b in
            a.window != b.window ? a.window < b.window : modelNames[a.model] < modelNames[b.model]
        }
        w.int(keys.count)
        for key in keys { encodeWindow(key.window, model: modelNames[key.model], open[key]!, to: &w) }
    }

    mutating func decodeState(from r: inout ByteReader) throws(ByteReaderError) {
        maxEventTime = try r.i64()
        watermark = try r.i64()
        acceptedEvents = try r.int()
        lateEvents = try r.int()
        let count = try r.count(unit: 8)
        for _ in 0..<count {
            let (window, model, state) = try decodeWindow(from: &r)
            let key = Key(window: window, model: slot(forModel: model))
            guard open[key] == nil else { throw ByteReaderError("window \(window) of model \(model) stored twice") }
            open[key] = state
        }
    }

    /// Writes open windows taken out of an aggregator (partial aggregates of one partition).
    public func encode(_ windows: [OpenWindow], to w: inout ByteWriter) {
        w.int(windows.count)
        for window in windows { encodeWindow(window.window, model: window.model, window.state, to: &w) }
    }

    /// Reads what ``encode(_:to:)`` wrote, for the same schema and profile.
    public mutating func decodeWindows(from r: inout ByteReader) throws(ByteReaderError) -> [OpenWindow] {
        let count = try r.count(unit: 8)
        var windows: [OpenWindow] = []
        for _ in 0..<count {
            let (window, model, state) = try decodeWindow(from: &r)
            windows.append(OpenWindow(window: window, model: model, state: state))
        }
        return windows
    }

    func encodeWindow(_ window: Int64, model: String, _ state: State, to w: inout ByteWriter) {
        w.i64(window)
        w.string(model)
        w.int(state.events)
        w.int(state.numeric.count)
        for s in state.numeric { s.encodeCounts(to: &w) }
        w.int(state.categorical.count)
        for c in state.categorical { c.encode(to: &w) }
    }

    mutating func decodeWindow(from r: inout ByteReader) throws(ByteReaderError) -> (Int64, String, State) {
        let window = try r.i64()
        let model = try r.string()
        let slot = slot(forModel: model)
        let reference = references[slot]
        let events = try r.int()
        guard try r.int() == schema.numeric.count else { throw ByteReaderError("numeric feature count differs from the config") }
        var numeric = emptyState(slot).numeric
        for f in schema.numeric.indices {
            do {
                try numeric[f].decodeCounts(from: &r)
            } catch {
                throw ByteReaderError("\(schema.numeric[f]): \(error)")
            }
        }
        guard try r.int() == schema.categorical.count else { throw ByteReaderError("categorical feature count differs from the config") }
        var categorical: [CategoricalCounts] = []
        for f in schema.categorical.indices {
            let c = try CategoricalCounts(from: &r)
            guard c.counts.count == reference.categorical[f].counts.counts.count else {
                throw ByteReaderError("the categories of \(schema.categorical[f]) differ from the reference profile's")
            }
            categorical.append(c)
        }
        return (window, modelNames[slot], State(numeric: numeric, categorical: categorical, events: events))
    }
}
