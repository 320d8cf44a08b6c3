import DriftStats

/// When a feature's window counts as drifted.
public struct DriftDecision: Sendable, Hashable {
    /// Drift when PSI ≥ this (`nil`: rule off).
    public var psi: Double?
    /// ... or when the KS (numeric) or chi-square (categorical) p-value < this (`nil`: off).
    public var pValue: Double?
    /// Windows with fewer values never flag drift.
    public var minCount: Int

    public init(psi: Double? = 0.2, pValue: Double? = nil, minCount: Int = 100) {
        self.psi = psi
        self.pValue = pValue
        self.minCount = minCount
    }

    public func drifted(count: Int, psi observedPSI: Double?, pValue observedP: Double?) -> Bool {
        guard count >= minCount else { return false }
        if let threshold = psi, let value = observedPSI, value >= threshold { return true }
        if let threshold = pValue, let value = observedP, value < threshold { return true }
        return false
    }
}

/// One feature of one model in one closed window, compared with its reference.
public struct FeatureResult: Sendable, Hashable {
    public enum Metrics: Sendable, Hashable {
        case numeric(NumericDriftMetrics)
        case categorical(CategoricalDriftMetrics)
    }

    public var feature: String
    public var metrics: Metrics
    public var drift: Bool
}

/// A closed window of one model: its results and the summaries they came from.
public struct ClosedWindow: Sendable {
    public var model: String
    public var start: EpochMicroseconds
    public var end: EpochMicroseconds
    /// Events counted in the window.
    public var events: Int
    /// Events the reference's rate gives for a window of this size; `nil` when the reference
    /// has no event times (a profile of format 1.0) or too few events to tell a rate.
    public var expectedEvents: Double? = nil
    /// Per feature, sorted by feature path.
    public var results: [FeatureResult]
    /// Summaries in config order (for snapshots).
    public var numeric: [NumericSummary]
    public var categorical: [CategoricalCounts]
    /// Partitions of the source whose share of the window was still missing when it closed
    /// (a scaled-out evaluator's grace ran out); 0 when the window is complete.
    public var missingPartitions = 0

    /// Share of features that drifted.
    public var driftShare: Double {
        results.isEmpty ? 0 : Double(results.filter(\.drift).count) / Double(results.count)
    }

    /// Events against the reference's rate: ``events`` / ``expectedEvents``.
    public var volumeRatio: Double? {
        guard let expectedEvents, expectedEvents > 0 else { return nil }
        return Double(events) / expectedEvents
    }
}

/// Keeps per (model, window, feature) aggregates over event time and closes windows
/// as the watermark passes their end.
///
/// Event-time rules (DESIGN.md): the watermark is the largest event time seen minus
/// the allowed lateness; an event older than the watermark is *late*: it is not
/// counted in any window and is reported to the caller (dead-letter output). A window
/// closes once the watermark reaches its end, so no event that is not late can fall
/// into a closed window. Decisions are made event by event, so the results do not
/// depend on how the events are cut into batches.
public struct WindowAggregator: Sendable {
    public let spec: WindowSpec
    public let schema: EventSchema
    public let profile: ReferenceProfile
    public let decision: DriftDecision

    /// Largest event time seen.
    public internal(set) var maxEventTime: EpochMicroseconds = .min
    /// Current watermark (`.min` before the first event).
    public internal(set) var watermark: EpochMicroseconds = .min
    /// Events counted in windows.
    public internal(set) var acceptedEvents = 0
    /// Late events (not counted in any window).
    public internal(set) var lateEvents = 0
    /// Events older than this are late too, whatever this aggregator's own watermark: set by a
    /// ``PartitionedAggregator`` to the watermark up to which windows are already closed.
    public var floor: EpochMicroseconds = .min
    /// Events newer than this are rejected (``RejectReason/futureTimestamp``), not windowed;
    /// so are those after ``WindowSpec/latestEventTime``, whatever this says.
    public var futureLimit: EpochMicroseconds = .max
    /// Events rejected for a timestamp beyond ``futureLimit``.
    public internal(set) var futureEvents = 0
    /// At most this many models get their own windows; events of further model ids are
    /// counted under ``otherModel``.
    public var maxModels = 1000
    public static let otherModel = "__other__"

    struct Key: Hashable, Sendable {
        var window: Int64
        var model: Int
    }

    /// The aggregates of one open window of one model.
    public struct State: Sendable {
        public var numeric: [NumericSummary]
        public var categorical: [CategoricalCounts]
        public var events = 0

        /// Adds another part of the same window (another partition's share).
        public mutating func merge(_ other: State) {
            for f in numeric.indices { numeric[f].merge(other.numeric[f]) }
            for f in categorical.indices { categorical[f].merge(other.categorical[f]) }
            events += other.events
        }
    }

    var modelNames: [String] = []
    var modelSlots: [String: Int] = [:]
    var references: [ModelReference] = []
    /// Per model slot, the state of a window without events: new windows copy it, sharing
    /// the edges and lookup tables instead of building them again.
    var emptyStates: [State] = []
    /// Empty states built elsewhere (by the other partitions of a ``PartitionedAggregator``),
    /// per model name: a new model slot takes its empty state from here when it is there.
    var emptyStateTemplates: [String: State] = [:]
    var open: [Key: State] = [:]
    var codes: [UInt32] = []

    public init(spec: WindowSpec, schema: EventSchema, profile: ReferenceProfile, decision: DriftDecision) {
        self.spec = spec
        self.schema = schema
        self.profile = profile.selecting(schema: schema)
        self.decision = decision
    }

    /// Windows currently open (all models).
    public var openWindows: Int { open.count }

    mutating func slot(forModel requested: String) -> Int {
        if let s = modelSlots[requested] { return s }
        let name = modelNames.count >= maxModels && requested != Self.otherModel ? Self.otherModel : requested
        if let s = modelSlots[name] { return s }
        let s = modelNames.count
        modelNames.append(name)
        modelSlots[name] = s
        let reference = profile.reference(forModel: name)
        references.append(reference)
        emptyStates.append(emptyStateTemplates[name] ?? State(
            numeric: reference.numeric.map { NumericSummary(psiEdges: $0.psiEdges, fineEdges: $0.fine.edges) },
            categorical: reference.categorical.map { CategoricalCounts(categoryCount: $0.dictionary.categories.count) }))
        return s
    }

    func emptyState(_ slot: Int) -> State { emptyStates[slot] }

    /// Adds a batch of events.
    ///
    /// - Parameter late: Called with the row of every late event, in order.
    ///   - future: Called with the row of every event beyond ``futureLimit``.
    public mutating func add(_ batch: EventBatch, late: (Int) -> Void, future: (Int) -> Void = { _ in }) {
        let n = batch.count
        guard n > 0 else { return }
        var runStart = 0
        var runKey = Key(window: 0, model: -1)
        var previousModel = EventBatch.ByteRange(start: .max - 1, count: 0)
        var previousSlot = -1
        let hasModel = schema.model != nil
        let newest = spec.newestAccepted(futureLimit: futureLimit)
        for i in 0..<n {
            let t = batch.timestamps[i]
            if t > newest {
                if runKey.model >= 0 && runStart < i { addRun(batch, runStart..<i, runKey) }
                runStart = i + 1
                futureEvents += 1
                future(i)
                continue
            }
            if t > maxEventTime {
                maxEventTime = t
                watermark = t &- spec.lateness
            }
            if t < watermark || t < floor {
                if runKey.model >= 0 && runStart < i { addRun(batch, runStart..<i, runKey) }
                runStart = i + 1
                lateEvents += 1
                late(i)
                continue
            }
            let modelSlot: Int
            if !hasModel {
                modelSlot = previousSlot >= 0 ? previousSlot : slot(forModel: EventSchema.defaultModel)
            } else {
                let m = batch.models[i]
                if previousSlot >= 0 && sameBytes(batch, m, previousModel) {
                    modelSlot = previousSlot
                } else {
                    modelSlot = slot(forModel: batch.string(m) ?? EventSchema.defaultModel)
                }
                previousModel = m
            }
            previousSlot = modelSlot
            let key = Key(window: spec.newestWindowIndex(containing: t), model: modelSlot)
            if key != runKey {
                if runKey.model >= 0 && runStart < i { addRun(batch, runStart..<i, runKey) }
                runStart = i
                runKey = key
            }
        }
        if runKey.model >= 0 && runStart < n { addRun(batch, runStart..<n, runKey) }
    }

    func sameBytes(_ batch: EventBatch, _ a: EventBatch.ByteRange, _ b: EventBatch.ByteRange) -> Bool {
        if a == b { return true }
        if a.isMissing || b.isMissing { return false }
        guard a.count == b.count else { return false }
        return batch.bytes.withUnsafeBufferPointer { p in
            for j in 0..<Int(a.count) where p[Int(a.start) + j] != p[Int(b.start) + j] { return false }
            return true
        }
    }

    mutating func addRun(_ batch: EventBatch, _ rows: Range<Int>, _ key: Key) {
        acceptedEvents += rows.count
        let reference = references[key.model]
        // Categorical codes once per run, shared by every window of the run.
        var categoricalCodes: [[UInt32]] = []
        categoricalCodes.reserveCapacity(schema.categorical.count)
        for f in schema.categorical.indices {
            codes.removeAll(keepingCapacity: true)
            let dictionary = reference.categorical[f].dictionary
            // Equal ranges hold equal bytes (the decoder stores a repeated value once), so a
            // small cache keyed by range, one entry per range hash, finds most codes without
            // hashing the bytes.
            withUnsafeTemporaryAllocation(of: (range: EventBatch.ByteRange, code: UInt32).self, capacity: 32) { cache in
                cache.initialize(repeating: (.missing, CategoryDictionary.missingCode))
                batch.categorical[f].withUnsafeBufferPointer { column in
                    for i in rows {
                        let r = column[i]
                        let entry = Int(truncatingIfNeeded: (UInt64(r.start) &* 0x9E37_79B9_7F4A_7C15) >> 59)
                        if cache[entry].range != r {
                            let code =
                                r.isMissing ? CategoryDictionary.missingCode : batch.withBytes(r) { dictionary.code(ofUTF8: $0) }
                            cache[entry] = (r, code)
                        }
                        codes.append(cache[entry].code)
                    }
                }
            }
            categoricalCodes.append(codes)
        }
        for j in 0..<Int64(spec.windowsPerEvent) {
            let k = Key(window: key.window - j, model: key.model)
            if open[k] == nil { open[k] = emptyStates[key.model] }
            open[k]!.events += rows.count
            for f in schema.numeric.indices {
                batch.numeric[f].withUnsafeBufferPointer { column in
                    open[k]!.numeric[f].add(UnsafeBufferPointer(rebasing: column[rows]))
                }
            }
            for f in schema.categorical.indices {
                open[k]!.categorical[f].add(codes: categoricalCodes[f])
            }
        }
    }

    /// Closes the windows the watermark has passed, in window-end then model order.
    public mutating func closeReady() -> [ClosedWindow] {
        let spec = self.spec, watermark = self.watermark
        return close { spec.end(ofWindow: $0.window) <= watermark }
    }

    /// Closes every open window (end of input).
    public mutating func closeAll() -> [ClosedWindow] {
        close { _ in true }
    }

    mutating func close(where shouldClose: (Key) -> Bool) -> [ClosedWindow] {
        let keys = open.keys.filter(shouldClose)
        guard !keys.isEmpty else { return [] }
        let ordered = keys.sorted { a, b in
            a.window != b.window ? a.window < b.window : modelNames[a.model] < modelNames[b.model]
        }
        return ordered.map { key in
            let state = open.removeValue(forKey: key)!
            return evaluate(key, state)
        }
    }

    /// An open window taken out of the aggregator, to be merged with other partitions' parts.
    public struct OpenWindow: Sendable {
        public var window: Int64
        public var model: String
        public var state: State
    }

    /// Removes and returns the open windows whose end is at or before `end` (all for `nil`),
    /// without evaluating them.
    public mutating func takeWindows(endingBy end: EpochMicroseconds?) -> [OpenWindow] {
        let spec = self.spec
        let keys = open.keys.filter { end == nil || spec.end(ofWindow: $0.window) <= end! }
        return keys.map { key in
            OpenWindow(window: key.window, model: modelNames[key.model], state: open.removeValue(forKey: key)!)
        }
    }

    /// Evaluates a window's aggregates (possibly merged from several partitions).
    public mutating func evaluate(_ window: OpenWindow) -> ClosedWindow {
        // The slot first: `self` is read before the arguments are evaluated.
        let model = slot(forModel: window.model)
        return evaluate(Key(window: window.window, model: model), window.state)
    }

    func evaluate(_ key: Key, _ state: State) -> ClosedWindow {
        let reference = references[key.model]
        var results: [FeatureResult] = []
        for (f, path) in schema.numeric.enumerated() {
            let m = NumericDriftMetrics(reference: reference.numeric[f], window: state.numeric[f])
            results.append(FeatureResult(
                feature: path, metrics: .numeric(m),
                drift: decision.drifted(count: m.count, psi: m.psi, pValue: m.ksPValue)))
        }
        for (f, path) in schema.categorical.enumerated() {
            let m = CategoricalDriftMetrics(reference: reference.categorical[f].counts, window: state.categorical[f])
            results.append(FeatureResult(
                feature: path, metrics: .categorical(m),
                drift: decision.drifted(count: m.count, psi: m.psi, pValue: m.chi2PValue)))
        }
        results.sort { $0.feature < $1.feature }
        return ClosedWindow(
            model: modelNames[key.model], start: spec.start(ofWindow: key.window), end: spec.end(ofWindow: key.window),
            events: state.events, expectedEvents: reference.eventTimes?.expectedEvents(in: spec.size), results: results,
            numeric: state.numeric, categorical: state.categorical)
    }
}
