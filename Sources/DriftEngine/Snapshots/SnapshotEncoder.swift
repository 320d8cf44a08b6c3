import DriftCore
import DriftStats

/// Turns closed windows into ``WindowSnapshot``s and their bytes, for every place snapshots go
/// (a directory, a Kafka topic), so each gets the same versioned, checksummed bytes.
public struct SnapshotEncoder: Sendable {
    let profile: ReferenceProfile
    let fingerprint: UInt32
    /// Per feature path, its kind and index in the config order of ``ClosedWindow/numeric`` and
    /// ``ClosedWindow/categorical``.
    let slots: [String: (numeric: Bool, index: Int)]

    /// - Parameters:
    ///   - profile: The reference the windows are compared with; the config's `schema`
    ///     gives the order of the window summaries.
    /// - Throws: ``ProfileMismatch`` when the profile lacks a feature of the schema.
    public init(profile: ReferenceProfile, schema: EventSchema) throws {
        try profile.validate(schema: schema, binning: profile.binning)
        self.fingerprint = profile.fingerprint
        self.profile = profile.selecting(schema: schema)
        var slots: [String: (numeric: Bool, index: Int)] = [:]
        for (i, p) in schema.numeric.enumerated() { slots[p] = (true, i) }
        for (i, p) in schema.categorical.enumerated() { slots[p] = (false, i) }
        self.slots = slots
    }

    /// For the commands: an encoder for a config's windows, or a one-line reason why there is none.
    public init(config: DriftlineConfig, profile: ReferenceProfile?) throws {
        guard let profile else {
            throw ConfigError("config: snapshots (--snapshots, --snapshots-topic) need `reference.profile` (a reference built from the stream is not kept for snapshots)")
        }
        try self.init(profile: profile, schema: config.input)
    }

    /// The snapshot of a closed window.
    public func snapshot(of window: ClosedWindow) -> WindowSnapshot {
        let reference = profile.reference(forModel: window.model)
        let features = window.results.map { result -> FeatureSnapshot in
            let slot = slots[result.feature]!
            let distribution: FeatureSnapshot.Distribution
            if slot.numeric {
                distribution = .numeric(window: window.numeric[slot.index], reference: reference.numeric[slot.index].psi)
            } else {
                let r = reference.categorical[slot.index]
                distribution = .categorical(window: window.categorical[slot.index], reference: r.counts, categories: r.dictionary.categories)
            }
            return FeatureSnapshot(feature: result.feature, drift: result.drift, metrics: result.metrics, distribution: distribution)
        }
        return WindowSnapshot(
            model: window.model, start: window.start, end: window.end, events: window.events, profileFingerprint: fingerprint,
            features: features)
    }

    /// The snapshot file's bytes for a closed window (``WindowSnapshot/fileBytes()``).
    public func fileBytes(of window: ClosedWindow) throws -> [UInt8] {
        try snapshot(of: window).fileBytes()
    }
}
