import DriftCore
import DriftStats

/// A change of an alert's state: it starts firing, or it resolves.
public struct AlertEvent: Sendable, Hashable {
    public enum State: String, Sendable {
        case firing
        case resolved
    }

    public var state: State
    public var rule: String
    public var severity: String
    public var model: String
    /// The feature path, or `*` for rules over the whole window (drift share, volume, rates).
    public var feature: String
    public var metric: String
    /// The value that decided this change (the breaching or the clean one); `nil` if unknown.
    public var value: Double?
    public var op: String
    public var threshold: Double
    /// The window whose result changed the state.
    public var windowStart: EpochMicroseconds
    public var windowEnd: EpochMicroseconds
    /// Start of the first breaching window of the streak that fired.
    public var startsAt: EpochMicroseconds
    /// End of the window that resolved it.
    public var endsAt: EpochMicroseconds?
    /// Stable over the alert's life: rule, model, feature and labels.
    public var fingerprint: String
    public var labels: [String: String]
    public var summary: String

    /// Deterministic per change, so a consumer can drop re-emissions after a restart.
    public var id: String { "\(fingerprint)/\(state.rawValue)/\(TimestampFormat.rfc3339Milliseconds(windowEnd))" }

    /// The JSON line of the file and Kafka sinks.
    public var jsonLine: String {
        var w = JSONObjectWriter()
        w.string("id", id)
        w.string("fingerprint", fingerprint)
        w.string("state", state.rawValue)
        w.string("rule", rule)
        w.string("severity", severity)
        w.string("model", model)
        w.string("feature", feature)
        w.string("metric", metric)
        w.number("value", value)
        w.string("op", op)
        w.number("threshold", threshold)
        w.string("window_start", TimestampFormat.rfc3339Milliseconds(windowStart))
        w.string("window_end", TimestampFormat.rfc3339Milliseconds(windowEnd))
        w.string("starts_at", TimestampFormat.rfc3339Milliseconds(startsAt))
        if let endsAt { w.string("ends_at", TimestampFormat.rfc3339Milliseconds(endsAt)) }
        var labelsJSON = JSONObjectWriter()
        for key in labels.keys.sorted() { labelsJSON.string(key, labels[key]) }
        w.raw("labels", labelsJSON.finish())
        w.string("summary", summary)
        return w.finish()
    }

    /// The human line of the stdout sink.
    public var humanLine: String {
        let head = state == .firing ? "FIRING  " : "RESOLVED"
        let value = self.value.map(AlertEvent.short) ?? "null"
        let window = "\(TimestampFormat.rfc3339Milliseconds(windowStart)) .. \(TimestampFormat.rfc3339Milliseconds(windowEnd))"
        let rule = state == .firing ? "\(op) \(AlertEvent.short(threshold))" : "no longer \(op) \(AlertEvent.short(threshold))"
        return "\(head) [\(severity)] \(self.rule): \(summary) (\(metric) \(value), \(rule); window \(window))"
    }

    /// Four significant digits, for people.
    static func short(_ x: Double) -> String {
        guard x.isFinite, x != 0 else { return String(x) }
        var exponent = 0
        var m = abs(x)
        while m >= 10 { m /= 10; exponent += 1 }
        while m < 1 { m *= 10; exponent -= 1 }
        if exponent >= -3 && exponent < 6 {
            let scale = pow10(3 - exponent)
            let rounded = (x * scale).rounded() / scale
            return String(rounded)
        }
        let mantissa = ((x < 0 ? -m : m) * 1000).rounded() / 1000
        return "\(mantissa)e\(exponent)"
    }

    static func pow10(_ e: Int) -> Double {
        var r = 1.0
        for _ in 0..<abs(e) { r *= 10 }
        return e < 0 ? 1 / r : r
    }
}

/// Counts of the pipeline that rules over rates look at, cumulative.
public struct PipelineCounts: Sendable, Hashable {
    public var messages: Int64
    public var late: Int64
    public var rejected: Int64

    public init(messages: Int64 = 0, late: Int64 = 0, rejected: Int64 = 0) {
        self.messages = messages
        self.late = late
        self.rejected = rejected
    }
}

/// Evaluates the configured alert rules on every closed window and keeps each alert's state.
///
/// An alert is one (rule, model, feature). It fires after `for` consecutive breaching windows
/// and resolves after `resolve_after` consecutive clean ones; in between nothing is emitted, so a
/// metric hovering at the threshold cannot cause a storm (and `for`/`resolve_after` > 1 add
/// hysteresis). A window where the metric cannot be computed, or with fewer than `min_count`
/// values, changes nothing. With `correction: benjamini_hochberg`, a p-value rule compares the
/// Benjamini–Hochberg adjusted p-values of the features it selects in that window.
public struct AlertEngine: Sendable {
    struct Compiled: Sendable {
        var settings: AlertSettings.Rule
        var metric: AlertMetric
    }

    struct AlertState: Sendable, Hashable {
        var breaches = 0
        var cleans = 0
        var firing = false
        var streakStart: EpochMicroseconds = 0
        var firingSince: EpochMicroseconds = 0
    }

    let rules: [Compiled]
    let minCount: Int
    var states: [String: AlertState] = [:]
    var lastCounts = PipelineCounts()
    /// Rules already reported as unable to see their metric (not checkpointed: a restarted run
    /// says it once more).
    var reportedUnavailable: Set<String> = []
    /// Lines for the operator not yet taken by ``takeNotices()``.
    var notices: [String] = []
    /// Alerts firing now.
    public var firing: Int { states.values.filter(\.firing).count }

    /// - Throws: ``ConfigError`` naming the rule for an unknown metric.
    public init(rules: [AlertSettings.Rule], minCount: Int) throws {
        self.rules = try rules.map { rule in
            guard let metric = AlertMetric(rawValue: rule.metric) else {
                throw ConfigError("config: alert rule `\(rule.name)`: unknown metric `\(rule.metric)`; known: \(AlertMetric.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if rule.correction == .benjaminiHochberg && !metric.isPValue {
                throw ConfigError("config: alert rule `\(rule.name)`: `correction` applies to p-value metrics (ks_pvalue, chi2_pvalue), not \(rule.metric)")
            }
            return Compiled(settings: rule, metric: metric)
        }
        self.minCount = minCount
    }

    /// The alerts that change state with this window, in rule then feature order.
    public mutating func evaluate(_ window: ClosedWindow, counts: PipelineCounts) -> [AlertEvent] {
        var events: [AlertEvent] = []
        let delta = PipelineCounts(
            messages: counts.messages - lastCounts.messages, late: counts.late - lastCounts.late,
            rejected: counts.rejected - lastCounts.rejected)
        lastCounts = counts
        for rule in rules where Glob.matchesAny(rule.settings.models, window.model) {
            let minCount = rule.settings.minCount ?? self.minCount
            var observations: [(feature: String, value: Double?)] = []
            if rule.metric.isWindowLevel {
                // Too small a window says nothing about the share of drifted features.
                let tooSmall = rule.metric == .drift_share && window.events < minCount
                if rule.metric == .volume_ratio && window.expectedEvents == nil {
                    noteUnavailable(rule.settings.name, "alert rule `\(rule.settings.name)` is skipped where the reference has no event rate (first for model \(window.model)): volume_ratio needs the reference's event times, which profiles written before format 1.1 lack (rebuild it with `driftline profile`), and at least two events at different times")
                }
                observations.append(("*", tooSmall ? nil : rule.metric.windowValue(window, delta: delta)))
            } else {
                for result in window.results where Glob.matchesAny(rule.settings.features, result.feature) {
                    guard let (count, value) = rule.metric.featureValue(result) else { continue }
                    observations.append((result.feature, count >= minCount ? value : nil))
                }
                if rule.settings.correction == .benjaminiHochberg {
                    let adjusted = BenjaminiHochberg.adjust(observations.map(\.value))
                    for i in observations.indices { observations[i].value = adjusted[i] }
                }
            }
            for (feature, value) in observations {
                if let event = step(rule.settings, model: window.model, feature: feature, value: value, window: window) {
                    events.append(event)
                }
            }
        }
        return events
    }

    mutating func noteUnavailable(_ rule: String, _ notice: String) {
        guard reportedUnavailable.insert(rule).inserted else { return }
        notices.append(notice)
    }

    /// Lines for the operator since the last call: rules that cannot see their metric, once each.
    public mutating func takeNotices() -> [String] {
        defer { notices = [] }
        return notices
    }

    mutating func step(
        _ rule: AlertSettings.Rule, model: String, feature: String, value: Double?, window: ClosedWindow
    ) -> AlertEvent? {
        guard let value else { return nil }
        let fingerprint = Self.fingerprint(rule: rule, model: model, feature: feature)
        var state = states[fingerprint] ?? AlertState()
        defer { states[fingerprint] = state }
        var change: AlertEvent.State?
        if Self.compare(value, rule.op, rule.threshold) {
            if state.breaches == 0 { state.streakStart = window.start }
            state.breaches += 1
            state.cleans = 0
            if !state.firing && state.breaches >= rule.forWindows {
                state.firing = true
                state.firingSince = state.streakStart
                change = .firing
            }
        } else {
            state.cleans += 1
            state.breaches = 0
            if state.firing && state.cleans >= rule.resolveAfter {
                state.firing = false
                change = .resolved
            }
        }
        guard let change else { return nil }
        var labels = rule.labels
        labels["alertname"] = rule.name
        labels["severity"] = rule.severity
        labels["model"] = model
        labels["feature"] = feature
        let event = AlertEvent(
            state: change, rule: rule.name, severity: rule.severity, model: model, feature: feature, metric: rule.metric,
            value: value, op: rule.op, threshold: rule.threshold, windowStart: window.start, windowEnd: window.end,
            startsAt: state.firingSince, endsAt: change == .resolved ? window.end : nil, fingerprint: fingerprint,
            labels: labels, summary: "")
        var filled = event
        filled.summary = Self.render(rule.summary ?? Self.defaultSummary, event)
        return filled
    }

    static let defaultSummary = "model {{model}} feature {{feature}}: {{metric}} {{value}} {{op}} {{threshold}}"

    /// Fills `{{name}}` placeholders: rule, severity, model, feature, metric, value, op,
    /// threshold, window_start, window_end, state, and any label.
    static func render(_ template: String, _ e: AlertEvent) -> String {
        var fields: [String: String] = [
            "rule": e.rule, "severity": e.severity, "model": e.model, "feature": e.feature, "metric": e.metric,
            "value": e.value.map(AlertEvent.short) ?? "null", "op": e.op, "threshold": AlertEvent.short(e.threshold),
            "window_start": TimestampFormat.rfc3339Milliseconds(e.windowStart),
            "window_end": TimestampFormat.rfc3339Milliseconds(e.windowEnd), "state": e.state.rawValue,
        ]
        for (k, v) in e.labels where fields[k] == nil { fields[k] = v }
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: " ")
            out += fields[name] ?? "{{\(name)}}"
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    static func compare(_ value: Double, _ op: String, _ threshold: Double) -> Bool {
        switch op {
        case ">": value > threshold
        case ">=": value >= threshold
        case "<": value < threshold
        case "<=": value <= threshold
        case "==": value == threshold
        default: value != threshold
        }
    }

    /// FNV-1a 64 of rule, model, feature and the rule's labels, in hex.
    static func fingerprint(rule: AlertSettings.Rule, model: String, feature: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ s: String) {
            for b in s.utf8 {
                hash ^= UInt64(b)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            hash ^= 0
            hash = hash &* 0x0000_0100_0000_01B3
        }
        add(rule.name)
        add(model)
        add(feature)
        for key in rule.labels.keys.sorted() {
            add(key)
            add(rule.labels[key]!)
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

// MARK: - State coding (checkpoints)

extension AlertEngine {
    public func encode(to w: inout ByteWriter) {
        w.i64(lastCounts.messages)
        w.i64(lastCounts.late)
        w.i64(lastCounts.rejected)
        let keys = states.keys.sorted()
        w.int(keys.count)
        for key in keys {
            let s = states[key]!
            w.string(key)
            w.int(s.breaches)
            w.int(s.cleans)
            w.bool(s.firing)
            w.i64(s.streakStart)
            w.i64(s.firingSince)
        }
    }

    public mutating func restore(from r: inout ByteReader) throws(ByteReaderError) {
        lastCounts = PipelineCounts(messages: try r.i64(), late: try r.i64(), rejected: try r.i64())
        states = [:]
        for _ in 0..<(try r.count(unit: 8)) {
            let key = try r.string()
            states[key] = AlertState(
                breaches: try r.int(), cleans: try r.int(), firing: try r.bool(), streakStart: try r.i64(),
                firingSince: try r.i64())
        }
    }
}

/// The metrics a rule can watch.
public enum AlertMetric: String, CaseIterable, Sendable {
    case psi, ks_statistic, ks_pvalue, js_distance, wasserstein, chi2_pvalue, new_category_rate
    /// |mean − reference mean| in reference standard deviations.
    case mean
    /// (mean − reference mean) / reference std, signed.
    case mean_shift
    case std_ratio
    /// missing / (values + missing).
    case missing_rate
    /// Share of the window's features that drifted.
    case drift_share
    /// Events in the window.
    case events
    /// Events in the window / events the reference's rate gives for a window of this size.
    case volume_ratio
    /// Late or rejected messages among those read since the previous closed window.
    case late_rate
    case rejected_rate

    var isPValue: Bool { self == .ks_pvalue || self == .chi2_pvalue }
    var isWindowLevel: Bool { [.drift_share, .events, .volume_ratio, .late_rate, .rejected_rate].contains(self) }

    func windowValue(_ w: ClosedWindow, delta: PipelineCounts) -> Double? {
        switch self {
        case .drift_share: w.results.isEmpty ? nil : w.driftShare
        case .events: Double(w.events)
        case .volume_ratio: w.volumeRatio
        case .late_rate: delta.messages > 0 ? Double(delta.late) / Double(delta.messages) : nil
        case .rejected_rate: delta.messages > 0 ? Double(delta.rejected) / Double(delta.messages) : nil
        default: nil
        }
    }

    /// (values counted, metric) for a feature, or `nil` when the metric does not apply to its kind.
    func featureValue(_ r: FeatureResult) -> (Int, Double?)? {
        switch r.metrics {
        case .numeric(let m):
            let missingRate = m.count + m.missing > 0 ? Double(m.missing) / Double(m.count + m.missing) : nil
            switch self {
            case .psi: return (m.count, m.psi)
            case .ks_statistic: return (m.count, m.ksStatistic)
            case .ks_pvalue: return (m.count, m.ksPValue)
            case .js_distance: return (m.count, m.jsDistance)
            case .wasserstein: return (m.count, m.wasserstein)
            case .mean: return (m.count, m.meanShift.map(abs))
            case .mean_shift: return (m.count, m.meanShift)
            case .std_ratio: return (m.count, m.stdRatio)
            case .missing_rate: return (Int.max, missingRate)
            default: return nil
            }
        case .categorical(let m):
            let missingRate = m.count + m.missing > 0 ? Double(m.missing) / Double(m.count + m.missing) : nil
            switch self {
            case .psi: return (m.count, m.psi)
            case .chi2_pvalue: return (m.count, m.chi2PValue)
            case .js_distance: return (m.count, m.jsDistance)
            case .new_category_rate: return (m.count, m.newCategoryRate)
            case .missing_rate: return (Int.max, missingRate)
            default: return nil
            }
        }
    }
}

/// Benjamini–Hochberg adjusted p-values (q-values); `nil` entries are left out of the family.
enum BenjaminiHochberg {
    static func adjust(_ p: [Double?]) -> [Double?] {
        let present = p.indices.filter { p[$0] != nil }.sorted { p[$0]! < p[$1]! }
        let m = Double(present.count)
        var adjusted = p
        var running = 1.0
        for (rank, i) in present.enumerated().reversed() {
            running = min(running, p[i]! * m / Double(rank + 1))
            adjusted[i] = min(1, running)
        }
        return adjusted
    }
}

/// `*` and `?` globs, as in shells (no character classes).
enum Glob {
    static func matchesAny(_ patterns: [String], _ s: String) -> Bool {
        patterns.contains { matches($0, s) }
    }

    static func matches(_ pattern: String, _ s: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(s.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
