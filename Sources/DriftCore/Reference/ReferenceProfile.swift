import DriftStats

/// The reference of one model: a summary per numeric feature and a dictionary with
/// counts per categorical feature, in the order of the config's feature lists.
public struct ModelReference: Sendable, Hashable {
    public var numeric: [NumericSummary]
    public var categorical: [CategoricalReference]
    /// When the reference's events happened (`nil` in profiles of format 1.0).
    public var eventTimes: ReferenceEventTimes?

    public init(numeric: [NumericSummary], categorical: [CategoricalReference], eventTimes: ReferenceEventTimes? = nil) {
        self.numeric = numeric
        self.categorical = categorical
        self.eventTimes = eventTimes
    }

    /// Events the reference was built from (the largest feature count, missing included).
    public var events: Int {
        let n = numeric.map { $0.count + $0.missing }.max() ?? 0
        let c = categorical.map { Int($0.counts.total + $0.counts.missing) }.max() ?? 0
        return Swift.max(n, c)
    }
}

/// A categorical feature's reference: its dictionary and the reference counts over it.
public struct CategoricalReference: Sendable, Hashable {
    public var dictionary: CategoryDictionary
    public var counts: CategoricalCounts

    public init(dictionary: CategoryDictionary, counts: CategoricalCounts) {
        self.dictionary = dictionary
        self.counts = counts
    }
}

/// Binning settings a profile was built with; a config must ask for the same.
public struct BinningSettings: Sendable, Hashable {
    public var psiBins: Int
    public var ksBins: Int
    public var topK: Int

    public init(psiBins: Int, ksBins: Int, topK: Int) {
        self.psiBins = psiBins
        self.ksBins = ksBins
        self.topK = topK
    }
}

/// The frozen reference every window is compared with: per model, and pooled over all
/// models for models the reference never saw.
public struct ReferenceProfile: Sendable, Hashable {
    public var binning: BinningSettings
    public var numericPaths: [String]
    public var categoricalPaths: [String]
    /// Model path of the config the profile was built with (`nil`: one model, "default").
    public var modelPath: String?
    /// References per model id.
    public var models: [String: ModelReference]
    /// The reference over all events, for models not in ``models``.
    public var pooled: ModelReference

    public init(
        binning: BinningSettings, numericPaths: [String], categoricalPaths: [String], modelPath: String?,
        models: [String: ModelReference], pooled: ModelReference
    ) {
        self.binning = binning
        self.numericPaths = numericPaths
        self.categoricalPaths = categoricalPaths
        self.modelPath = modelPath
        self.models = models
        self.pooled = pooled
    }

    /// The reference for a model: its own, or the pooled one.
    public func reference(forModel model: String) -> ModelReference {
        models[model] ?? pooled
    }

    /// Checks that the profile fits a config.
    ///
    /// - Throws: ``ProfileMismatch`` with a one-line reason naming the feature or setting.
    public func validate(schema: EventSchema, binning wanted: BinningSettings) throws(ProfileMismatch) {
        // Sets: with thousands of features, array lookups per feature would be quadratic.
        let numeric = Set(numericPaths), categorical = Set(categoricalPaths)
        for path in schema.numeric where !numeric.contains(path) {
            throw ProfileMismatch("profile has no numeric feature \"\(path)\"\(categorical.contains(path) ? " (it is categorical there)" : "")")
        }
        for path in schema.categorical where !categorical.contains(path) {
            throw ProfileMismatch("profile has no categorical feature \"\(path)\"\(numeric.contains(path) ? " (it is numeric there)" : "")")
        }
        if wanted.psiBins != binning.psiBins {
            throw ProfileMismatch("profile has \(binning.psiBins) PSI bins, the config asks for \(wanted.psiBins) (reference.psi_bins)")
        }
        if wanted.ksBins != binning.ksBins {
            throw ProfileMismatch("profile has \(binning.ksBins) KS bins, the config asks for \(wanted.ksBins) (reference.ks_bins)")
        }
        if wanted.topK != binning.topK {
            throw ProfileMismatch("profile keeps \(binning.topK) categories, the config asks for \(wanted.topK) (reference.top_k)")
        }
    }

    /// The profile restricted to a config's features, in the config's order.
    public func selecting(schema: EventSchema) -> ReferenceProfile {
        // First index of each path, as `firstIndex(of:)` would give, without its quadratic cost.
        let numericIndex = Dictionary(numericPaths.enumerated().map { ($1, $0) }, uniquingKeysWith: min)
        let categoricalIndex = Dictionary(categoricalPaths.enumerated().map { ($1, $0) }, uniquingKeysWith: min)
        let n = schema.numeric.map { numericIndex[$0]! }
        let c = schema.categorical.map { categoricalIndex[$0]! }
        func pick(_ m: ModelReference) -> ModelReference {
            ModelReference(numeric: n.map { m.numeric[$0] }, categorical: c.map { m.categorical[$0] }, eventTimes: m.eventTimes)
        }
        return ReferenceProfile(
            binning: binning, numericPaths: schema.numeric, categoricalPaths: schema.categorical,
            modelPath: modelPath, models: models.mapValues(pick), pooled: pick(pooled))
    }
}

/// A profile that does not fit the config.
public struct ProfileMismatch: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Builds a ``ReferenceProfile`` from event batches.
///
/// Numeric reference values are kept until ``build()`` (numpy-exact quantile edges
/// need all of them: 8 bytes per value and feature); categorical values are counted
/// in bounded memory by ``CategoryCounter``.
public struct ReferenceBuilder: Sendable {
    public let schema: EventSchema
    public let binning: BinningSettings
    struct Collected: Sendable {
        var numeric: [[Double]]
        var categorical: [CategoryCounter]
        var times = ReferenceEventTimes.none
    }
    var perModel: [String: Collected] = [:]
    var pooled: Collected
    public private(set) var events = 0

    public init(schema: EventSchema, binning: BinningSettings) {
        self.schema = schema
        self.binning = binning
        pooled = Collected(
            numeric: Array(repeating: [], count: schema.numeric.count),
            categorical: Array(repeating: CategoryCounter(), count: schema.categorical.count))
    }

    /// Adds every event of a batch.
    public mutating func add(_ batch: EventBatch) {
        add(batch, rows: 0..<batch.count)
    }

    /// Adds some rows of a batch.
    public mutating func add(_ batch: EventBatch, rows: Range<Int>) {
        guard !rows.isEmpty else { return }
        events += rows.count
        pooled.times.add(batch.timestamps[rows])
        for f in schema.numeric.indices {
            pooled.numeric[f].append(contentsOf: batch.numeric[f][rows])
        }
        for f in schema.categorical.indices {
            for i in rows {
                let r = batch.categorical[f][i]
                if let s = batch.string(r) { pooled.categorical[f].add(s) } else { pooled.categorical[f].addMissing() }
            }
        }
        guard schema.model != nil else { return }
        for i in rows {
            let model = batch.string(batch.models[i]) ?? EventSchema.defaultModel
            if perModel[model] == nil {
                perModel[model] = Collected(
                    numeric: Array(repeating: [], count: schema.numeric.count),
                    categorical: Array(repeating: CategoryCounter(), count: schema.categorical.count))
            }
            // Mutate in place: a copy out of the dictionary would copy every column.
            perModel[model]!.times.add(batch.timestamps[i])
            for f in schema.numeric.indices { perModel[model]!.numeric[f].append(batch.numeric[f][i]) }
            for f in schema.categorical.indices {
                if let s = batch.string(batch.categorical[f][i]) {
                    perModel[model]!.categorical[f].add(s)
                } else {
                    perModel[model]!.categorical[f].addMissing()
                }
            }
        }
    }

    /// Freezes the reference.
    public func build() -> ReferenceProfile {
        func freeze(_ c: Collected) -> ModelReference {
            let numeric = c.numeric.map { values -> NumericSummary in
                var sorted = values.filter { !$0.isNaN }
                sorted.sort()
                let psiEdges = BinEdges(referenceQuantilesOfSorted: sorted, bins: binning.psiBins)
                let fineEdges = BinEdges(referenceQuantilesOfSorted: sorted, bins: binning.ksBins)
                var summary = NumericSummary(psiEdges: psiEdges, fineEdges: fineEdges)
                summary.add(values)
                summary.settle()
                return summary
            }
            let categorical = c.categorical.map { counter -> CategoricalReference in
                let (dictionary, counts) = counter.dictionary(topK: binning.topK)
                return CategoricalReference(dictionary: dictionary, counts: counts)
            }
            return ModelReference(numeric: numeric, categorical: categorical, eventTimes: c.times)
        }
        let pooledReference = freeze(pooled)
        var models: [String: ModelReference] = [:]
        if schema.model == nil {
            models[EventSchema.defaultModel] = pooledReference
        } else {
            for (name, c) in perModel { models[name] = freeze(c) }
        }
        return ReferenceProfile(
            binning: binning, numericPaths: schema.numeric, categoricalPaths: schema.categorical,
            modelPath: schema.model, models: models, pooled: pooledReference)
    }
}
