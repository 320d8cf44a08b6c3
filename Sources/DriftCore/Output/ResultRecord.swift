import DriftStats

/// The window result record (DESIGN.md, "Window result record"): one JSON object per
/// line, per model × window × feature, plus one `kind: "dataset"` line per model and
/// window with the share of drifted features.
///
/// Fields are written in a fixed order and numbers in Swift's shortest round-trip
/// form, so the same results give byte-identical files. A metric that cannot be
/// computed is `null`. `id` is deterministic (model, feature, window start) so a
/// consumer can drop re-emitted records.
public enum ResultRecord {
    /// The lines of one closed window: its features in path order, then the dataset line.
    public static func lines(for window: ClosedWindow) -> [String] {
        var lines = window.results.map { line(for: $0, in: window) }
        lines.append(datasetLine(for: window))
        return lines
    }

    /// The record of one feature.
    public static func line(for result: FeatureResult, in window: ClosedWindow) -> String {
        var w = JSONObjectWriter()
        let start = TimestampFormat.rfc3339Milliseconds(window.start)
        w.string("id", "\(window.model)/\(result.feature)/\(start)")
        w.string("model", window.model)
        w.string("feature", result.feature)
        let (kind, count, missing): (String, Int, Int)
        switch result.metrics {
        case .numeric(let m): (kind, count, missing) = ("numeric", m.count, m.missing)
        case .categorical(let m): (kind, count, missing) = ("categorical", m.count, m.missing)
        }
        w.string("kind", kind)
        w.string("window_start", start)
        w.string("window_end", TimestampFormat.rfc3339Milliseconds(window.end))
        w.int("count", count)
        w.int("missing", missing)
        w.bool("drift", result.drift)
        switch result.metrics {
        case .numeric(let m):
            w.number("psi", m.psi)
            w.number("ks_statistic", m.ksStatistic)
            w.number("ks_error_bound", m.ksErrorBound)
            w.number("ks_pvalue", m.ksPValue)
            w.number("js_distance", m.jsDistance)
            w.number("wasserstein", m.wasserstein)
            w.number("wasserstein_error_bound", m.wassersteinErrorBound)
            w.number("mean", m.mean)
            w.number("std", m.std)
            w.number("ref_mean", m.referenceMean)
            w.number("ref_std", m.referenceStd)
            w.number("mean_shift", m.meanShift)
            w.number("std_ratio", m.stdRatio)
        case .categorical(let m):
            w.number("psi", m.psi)
            w.number("chi2_pvalue", m.chi2PValue)
            w.number("js_distance", m.jsDistance)
            w.number("new_category_rate", m.newCategoryRate)
        }
        return w.finish()
    }

    /// The dataset-level record of a model's window.
    public static func datasetLine(for window: ClosedWindow) -> String {
        var w = JSONObjectWriter()
        let start = TimestampFormat.rfc3339Milliseconds(window.start)
        w.string("id", "\(window.model)/*/\(start)")
        w.string("model", window.model)
        w.string("feature", "*")
        w.string("kind", "dataset")
        w.string("window_start", start)
        w.string("window_end", TimestampFormat.rfc3339Milliseconds(window.end))
        w.int("count", window.events)
        w.int("features", window.results.count)
        w.int("drifted_features", window.results.filter(\.drift).count)
        w.number("drift_share", window.driftShare)
        w.bool("drift", window.results.contains(where: \.drift))
        // Only when the window closed incomplete, so complete windows read as they always did.
        if window.missingPartitions > 0 { w.int("missing_partitions", window.missingPartitions) }
        return w.finish()
    }
}

/// Writes one flat JSON object, keys in call order.
public struct JSONObjectWriter {
    var text = "{"
    var first = true

    public init() {}

    mutating func key(_ k: String) {
        if !first { text += "," }
        first = false
        JSONObjectWriter.appendQuoted(k, to: &text)
        text += ":"
    }

    public mutating func string(_ k: String, _ v: String?) {
        key(k)
        if let v { JSONObjectWriter.appendQuoted(v, to: &text) } else { text += "null" }
    }

    public mutating func int(_ k: String, _ v: Int) {
        key(k)
        text += String(v)
    }

    public mutating func bool(_ k: String, _ v: Bool) {
        key(k)
        text += v ? "true" : "false"
    }

    /// A number, or `null` when absent or not finite (JSON has no NaN or ∞).
    public mutating func number(_ k: String, _ v: Double?) {
        key(k)
        if let v, v.isFinite { text += v.description } else { text += "null" }
    }

    /// A raw JSON value written as is.
    public mutating func raw(_ k: String, _ json: String) {
        key(k)
        text += json
    }

    public mutating func finish() -> String {
        text += "}"
        return text
    }

    /// Appends `s` as a JSON string literal (RFC 8259 escapes).
    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        // Most keys and values need no escape: append them whole, not scalar by scalar
        // (that loop was about 1 % of a replay, 130 k instructions per result record).
        if !s.utf8.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
