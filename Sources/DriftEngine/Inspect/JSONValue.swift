import DriftCore

/// A JSON document built in memory and written compactly, keys in the order given; for
/// `driftline inspect --json` (not hot code).
enum JSONValue {
    case null
    case bool(Bool)
    case int(Int64)
    /// `nil` or a non-finite value is written `null` (JSON has no NaN or ∞).
    case number(Double?)
    case string(String?)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func int(_ v: Int) -> JSONValue { .int(Int64(v)) }
    static func uint(_ v: UInt64) -> JSONValue { v <= UInt64(Int64.max) ? .int(Int64(v)) : .number(Double(v)) }
    static func numbers(_ a: [Double]) -> JSONValue { .array(a.map { .number($0) }) }

    func render() -> String {
        var out = ""
        render(into: &out)
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let v): out += String(v)
        case .number(let v):
            if let v, v.isFinite { out += v.description } else { out += "null" }
        case .string(let s):
            if let s { JSONObjectWriter.appendQuoted(s, to: &out) } else { out += "null" }
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.render(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out += "," }
                JSONObjectWriter.appendQuoted(k, to: &out)
                out += ":"
                v.render(into: &out)
            }
            out += "}"
        }
    }
}
