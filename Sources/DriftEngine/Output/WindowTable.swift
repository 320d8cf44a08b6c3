import DriftCore

/// The compact per-window table of drifted features that `replay`, `run` and `demo` show
/// on a terminal.
public enum WindowTable {
    public static func render(_ w: ClosedWindow, features: [FeatureResult]) -> String {
        var s = "\(TimestampFormat.rfc3339Milliseconds(w.start)) .. \(TimestampFormat.rfc3339Milliseconds(w.end))  model \(w.model): \(features.count)/\(w.results.count) features drifted"
        for f in features {
            let name = f.feature.count >= 24 ? f.feature : f.feature + String(repeating: " ", count: 24 - f.feature.count)
            switch f.metrics {
            case .numeric(let m):
                s += "\n  \(name)  psi \(fmt(m.psi))  ks \(fmt(m.ksStatistic)) p \(fmt(m.ksPValue))  mean \(fmt(m.mean)) (ref \(fmt(m.referenceMean)))"
            case .categorical(let m):
                s += "\n  \(name)  psi \(fmt(m.psi))  chi2 p \(fmt(m.chi2PValue))  new \(fmt(m.newCategoryRate))"
            }
        }
        return s
    }

    /// A metric for the table: three decimals, or a two-decimal mantissa and a decimal
    /// exponent below 0.001 and from 10⁶ on (`2.67e-311`), `-` when there is none. Any
    /// double, subnormals and non-finite ones included, gives a string.
    public static func fmt(_ x: Double?) -> String {
        guard let x else { return "-" }
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        let sign = x < 0 ? "-" : ""
        var m = abs(x)
        if m != 0 && (m < 1e-3 || m >= 1e6) {
            // The decimal exponent by scaling the value itself into [1, 10): never a power
            // of ten that overflows, as 10^311 would for a subnormal p-value.
            var e = 0
            while m >= 10 { m /= 10; e += 1 }
            while m < 1 { m *= 10; e -= 1 }
            var digits = (m * 100).rounded()
            if digits >= 1000 {
                // 9.996 rounds to 10.00: one more power of ten.
                digits = (digits / 10).rounded()
                e += 1
            }
            return "\(sign)\(digits / 100)e\(e)"
        }
        return "\(sign)\(Double(Int((m * 1000).rounded())) / 1000)"
    }
}
