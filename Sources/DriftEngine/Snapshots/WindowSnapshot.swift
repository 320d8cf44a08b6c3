import DriftCore
import DriftStats

/// Everything kept about one closed window of one model: its results and the distributions
/// they were computed from, with the reference's PSI-bin counts so that a report can draw
/// reference and window histograms side by side without the profile.
public struct WindowSnapshot: Sendable, Hashable {
    public var model: String
    public var start: EpochMicroseconds
    public var end: EpochMicroseconds
    /// Events counted in the window.
    public var events: Int
    /// ``ReferenceProfile/fingerprint`` of the profile the window was compared with.
    public var profileFingerprint: UInt32
    /// Per feature, sorted by feature path (the order of ``ClosedWindow/results``).
    public var features: [FeatureSnapshot]

    public init(
        model: String, start: EpochMicroseconds, end: EpochMicroseconds, events: Int, profileFingerprint: UInt32,
        features: [FeatureSnapshot]
    ) {
        self.model = model
        self.start = start
        self.end = end
        self.events = events
        self.profileFingerprint = profileFingerprint
        self.features = features
    }

    /// Share of features that drifted.
    public var driftShare: Double {
        features.isEmpty ? 0 : Double(features.filter(\.drift).count) / Double(features.count)
    }
}

/// One feature of a ``WindowSnapshot``.
public struct FeatureSnapshot: Sendable, Hashable {
    /// Window and reference distributions of the feature.
    public enum Distribution: Sendable, Hashable {
        /// The window's whole summary (moments, PSI edges, fine histogram with its edges) and
        /// the reference's counts over the same PSI bins.
        case numeric(window: NumericSummary, reference: BinnedCounts)
        /// Counts over the reference categories (then `__other__`), for the window and the
        /// reference; `categories` are the reference category names, without `__other__`.
        case categorical(window: CategoricalCounts, reference: CategoricalCounts, categories: [String])
    }

    public var feature: String
    public var drift: Bool
    public var metrics: FeatureResult.Metrics
    public var distribution: Distribution

    public init(feature: String, drift: Bool, metrics: FeatureResult.Metrics, distribution: Distribution) {
        self.feature = feature
        self.drift = drift
        self.metrics = metrics
        self.distribution = distribution
    }

    /// `numeric` or `categorical`, as in the result records.
    public var kind: String {
        if case .numeric = distribution { return "numeric" }
        return "categorical"
    }

    /// Bar labels: the PSI bins as `(lo, hi]` intervals, or the category names then `__other__`.
    public var binLabels: [String] {
        switch distribution {
        case .numeric(let window, _):
            let e = window.psiEdges.values
            return (0...e.count).map { i in
                "(\(i == 0 ? "-inf" : e[i - 1].description), \(i == e.count ? "inf" : e[i].description)]"
            }
        case .categorical(_, _, let categories):
            return categories + [CategoryDictionary.otherName]
        }
    }

    /// The reference's share of values per bar (sums to 1; all 0 for an empty reference).
    public var referenceProportions: [Double] {
        switch distribution {
        case .numeric(_, let reference): return Self.proportions(reference.counts)
        case .categorical(_, let reference, _): return Self.proportions(reference.counts)
        }
    }

    /// The window's share of values per bar (sums to 1; all 0 for an empty window).
    public var windowProportions: [Double] {
        switch distribution {
        case .numeric(let window, _): return Self.proportions(window.psiCounts)
        case .categorical(let window, _, _): return Self.proportions(window.counts)
        }
    }

    static func proportions(_ counts: [UInt64]) -> [Double] {
        let total = counts.reduce(0, &+)
        return counts.map { total == 0 ? 0 : Double($0) / Double(total) }
    }
}

// MARK: - Coding

/// Snapshot payload (inside a ``FileContainer`` of kind snapshot, format 1.0), little-endian:
/// ```
/// profile fingerprint  u32
/// model                string (u32 length + UTF-8)
/// start, end           i64 epoch microseconds
/// events               i64
/// features             i64 count, then per feature in path order:
///   path               string
///   kind               u8: 0 numeric, 1 categorical
///   drift              u8 (0/1)
///   metrics            count i64, missing i64, then each metric as u8 present + f64
///                      (numeric: psi, ks_statistic, ks_error_bound, ks_pvalue, js_distance,
///                      wasserstein, wasserstein_error_bound, mean, std, ref_mean, ref_std,
///                      mean_shift, std_ratio; categorical: psi, chi2_pvalue, js_distance,
///                      new_category_rate)
///   numeric:           NumericSummary (PSI edges, moments, fine histogram with its edges),
///                      reference PSI-bin counts (u64 count + u64 each), reference missing u64
///   categorical:       reference category names (u64 count + strings), window
///                      CategoricalCounts, reference CategoricalCounts
/// ```
extension WindowSnapshot {
    func payload() -> [UInt8] {
        var w = ByteWriter(capacity: 4096)
        w.u32(profileFingerprint)
        w.string(model)
        w.i64(start)
        w.i64(end)
        w.int(events)
        w.int(features.count)
        for f in features {
            w.string(f.feature)
            switch f.distribution {
            case .numeric: w.u8(0)
            case .categorical: w.u8(1)
            }
            w.bool(f.drift)
            switch f.metrics {
            case .numeric(let m): m.encode(to: &w)
            case .categorical(let m): m.encode(to: &w)
            }
            switch f.distribution {
            case .numeric(let window, let reference):
                window.encode(to: &w)
                w.u64s(reference.counts)
                w.u64(reference.missing)
            case .categorical(let window, let reference, let categories):
                w.strings(categories)
                window.encode(to: &w)
                reference.encode(to: &w)
            }
        }
        return w.bytes
    }

    /// The snapshot as a file (``FileContainer`` of kind snapshot).
    public func fileBytes() throws -> [UInt8] {
        try FileContainer.encode(.snapshot, payload: payload())
    }

    /// Reads a snapshot file's bytes.
    ///
    /// - Throws: ``FormatError`` for anything but a complete, intact snapshot of a format this
    ///   build reads (a newer major version is refused).
    public init(fileBytes: [UInt8]) throws(FormatError) {
        let (header, payload) = try FileContainer.decode(.snapshot, fileBytes)
        do {
            try self.init(payload: payload, allowTrailing: header.minor > FileContainer.Kind.snapshot.minorVersion)
        } catch {
            throw FormatError("invalid snapshot payload: \(error)")
        }
    }

    init(payload: [UInt8], allowTrailing: Bool) throws(ByteReaderError) {
        var r = ByteReader(payload)
        profileFingerprint = try r.u32()
        model = try r.string()
        start = try r.i64()
        end = try r.i64()
        events = try r.int()
        guard start < end, events >= 0 else { throw ByteReaderError("invalid window [\(start), \(end)) with \(events) events") }
        let n = try r.count(unit: 16)
        features = []
        features.reserveCapacity(n)
        for _ in 0..<n {
            let path = try r.string()
            let kind = try r.u8()
            let drift = try r.bool()
            switch kind {
            case 0:
                let metrics = try NumericDriftMetrics(from: &r)
                let window = try NumericSummary(from: &r)
                let counts = try r.u64s()
                guard let reference = BinnedCounts(edges: window.psiEdges, counts: counts, missing: try r.u64()) else {
                    throw ByteReaderError("\(path): reference counts do not match the \(window.psiEdges.binCount) PSI bins")
                }
                features.append(FeatureSnapshot(
                    feature: path, drift: drift, metrics: .numeric(metrics), distribution: .numeric(window: window, reference: reference)))
            case 1:
                let metrics = try CategoricalDriftMetrics(from: &r)
                let categories = try r.strings()
                let window = try CategoricalCounts(from: &r)
                let reference = try CategoricalCounts(from: &r)
                guard window.counts.count == categories.count + 1, reference.counts.count == categories.count + 1 else {
                    throw ByteReaderError("\(path): counts do not match the \(categories.count) reference categories")
                }
                features.append(FeatureSnapshot(
                    feature: path, drift: drift, metrics: .categorical(metrics),
                    distribution: .categorical(window: window, reference: reference, categories: categories)))
            default:
                throw ByteReaderError("\(path): unknown feature kind \(kind)")
            }
        }
        guard allowTrailing || r.isAtEnd else { throw ByteReaderError("\(r.remaining) unexpected bytes after the snapshot") }
    }
}
