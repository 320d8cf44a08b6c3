import DriftCore
import Yams

/// A configuration error: one line naming the key and where it is.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension DriftlineConfig {
    /// Reads a configuration from YAML text.
    ///
    /// - Throws: ``ConfigError`` naming the offending key (with its line), for unknown
    ///   keys, wrong types, missing required keys and inconsistent values.
    public init(yaml text: String) throws {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ConfigError("config is empty") }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError("config is not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        let top = try YAMLMap(root, path: "")
        try top.allowOnly(["input", "reference", "window", "drift", "kafka", "checkpoint", "alerts", "scale_out"])

        let input = try top.map("input")
        guard let input else { throw ConfigError("config: `input` is required (timestamp and features)") }
        try input.allowOnly(["timestamp", "model", "numeric", "categorical", "max_models", "max_event_bytes", "max_depth"])
        guard let timestamp = try input.string("timestamp") else {
            throw ConfigError("config: `input.timestamp` is required")
        }
        var schema = EventSchema(
            timestamp: timestamp,
            model: try input.string("model"),
            numeric: try input.strings("numeric") ?? [],
            categorical: try input.strings("categorical") ?? [])
        schema.maxModels = try input.int("max_models", in: 1...1_000_000) ?? schema.maxModels
        if schema.numeric.isEmpty && schema.categorical.isEmpty {
            throw ConfigError("config: `input` lists no feature (`numeric` or `categorical`)")
        }
        var seen: Set<String> = []
        for path in schema.numeric + schema.categorical {
            guard !path.isEmpty, !path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                throw ConfigError("config: `input`: feature path \"\(path)\" has an empty segment")
            }
            guard seen.insert(path).inserted else {
                throw ConfigError("config: `input`: feature \"\(path)\" is listed twice")
            }
        }
        self.init(input: schema)
        limits.maxEventBytes = try input.int("max_event_bytes", in: 64...(1 << 28)) ?? limits.maxEventBytes
        limits.maxDepth = try input.int("max_depth", in: 2...10_000) ?? limits.maxDepth

        if let r = try top.map("reference") {
            try r.allowOnly(["profile", "from_stream", "psi_bins", "ks_bins", "top_k"])
            reference.profile = try r.string("profile")
            if let d = try r.string("from_stream") {
                guard let us = DurationText.microseconds(d), us > 0 else {
                    throw ConfigError("config: `reference.from_stream`: \"\(d)\" is not a duration like 1h")
                }
                reference.fromStreamMicroseconds = us
            }
            reference.psiBins = try r.int("psi_bins", in: 2...10_000) ?? reference.psiBins
            reference.ksBins = try r.int("ks_bins", in: 2...100_000) ?? reference.ksBins
            reference.topK = try r.int("top_k", in: 1...1_000_000) ?? reference.topK
            if reference.profile != nil && reference.fromStreamMicroseconds != nil {
                throw ConfigError("config: `reference`: set `profile` or `from_stream`, not both")
            }
        }
        if let w = try top.map("window") {
            try w.allowOnly(["size", "slide", "lateness", "max_future_skew"])
            if w.has("max_future_skew") { window.maxFutureSkewMicroseconds = try w.duration("max_future_skew") }
            if let size = try w.duration("size") {
                window.sizeMicroseconds = size
                window.slideMicroseconds = size
            }
            window.slideMicroseconds = try w.duration("slide") ?? window.slideMicroseconds
            window.latenessMicroseconds = try w.duration("lateness", allowZero: true) ?? window.latenessMicroseconds
            guard window.slideMicroseconds <= window.sizeMicroseconds else {
                throw ConfigError("config: `window.slide` is longer than `window.size` (gaps between windows)")
            }
            guard window.sizeMicroseconds / window.slideMicroseconds <= 1000 else {
                throw ConfigError("config: `window.size` / `window.slide` exceeds 1000 windows per event")
            }
        }
        if let d = try top.map("drift") {
            try d.allowOnly(["psi", "ks_pvalue", "min_count"])
            if d.has("psi") { drift.psi = try d.double("psi") }
            if d.has("ks_pvalue") { drift.ksPValue = try d.double("ks_pvalue") }
            drift.minCount = try d.int("min_count", in: 0...Int.max) ?? drift.minCount
        }
        if let k = try top.map("kafka") {
            try k.allowOnly(["brokers", "topics", "group", "properties", "idle_timeout"])
            kafka.brokers = try k.string("brokers") ?? kafka.brokers
            kafka.topics = try k.strings("topics") ?? kafka.topics
            kafka.group = try k.string("group") ?? kafka.group
            if let p = try k.map("properties") { kafka.properties = try p.stringDictionary() }
            kafka.idleTimeoutMicroseconds = try k.duration("idle_timeout") ?? kafka.idleTimeoutMicroseconds
        }
        if let c = try top.map("checkpoint") {
            try c.allowOnly(["dir", "interval"])
            checkpoint.directory = try c.string("dir") ?? checkpoint.directory
            checkpoint.intervalMicroseconds = try c.duration("interval") ?? checkpoint.intervalMicroseconds
        }
        if let o = try top.map("scale_out") {
            try o.allowOnly(["state_topic", "partials_topic", "grace"])
            scaleOut.stateTopic = try o.string("state_topic")
            scaleOut.partialsTopic = try o.string("partials_topic")
            scaleOut.graceMicroseconds = try o.duration("grace") ?? scaleOut.graceMicroseconds
        }
        if let a = try top.map("alerts") {
            try a.allowOnly(["rules", "sinks", "webhook_token_env"])
            alerts.webhookTokenEnvironment = try a.string("webhook_token_env")
            for rule in try a.maps("rules") {
                try rule.allowOnly(["name", "metric", "op", "threshold", "features", "models", "for", "resolve_after", "severity", "labels", "summary", "correction", "min_count"])
                guard let name = try rule.string("name"), let metric = try rule.string("metric"),
                    let threshold = try rule.double("threshold")
                else {
                    throw ConfigError("config: `\(rule.path)`: a rule needs `name`, `metric` and `threshold`")
                }
                let op = try rule.string("op") ?? ">="
                guard [">", ">=", "<", "<=", "==", "!="].contains(op) else {
                    throw ConfigError("config: `\(rule.path).op`: \"\(op)\" is not one of > >= < <= == !=")
                }
                var r = AlertSettings.Rule(name: name, metric: metric, op: op, threshold: threshold)
                r.features = try rule.strings("features") ?? r.features
                r.models = try rule.strings("models") ?? r.models
                r.forWindows = try rule.int("for", in: 1...10_000) ?? r.forWindows
                r.resolveAfter = try rule.int("resolve_after", in: 1...10_000) ?? r.resolveAfter
                r.severity = try rule.string("severity") ?? r.severity
                if let labels = try rule.map("labels") { r.labels = try labels.stringDictionary() }
                r.summary = try rule.string("summary")
                if let c = try rule.string("correction") {
                    guard let correction = AlertSettings.Correction(rawValue: c) else {
                        throw ConfigError("config: `\(rule.path).correction`: \"\(c)\" is not none or benjamini_hochberg")
                    }
                    r.correction = correction
                }
                r.minCount = try rule.int("min_count", in: 0...Int.max)
                alerts.rules.append(r)
            }
            for sink in try a.maps("sinks") {
                try sink.allowOnly(["webhook", "file", "kafka", "stdout"])
                guard sink.keys.count == 1, let key = sink.keys.first else {
                    throw ConfigError("config: `\(sink.path)`: a sink has exactly one of webhook, file, kafka, stdout")
                }
                switch key {
                case "webhook": alerts.sinks.append(.webhook(try sink.string(key) ?? ""))
                case "file": alerts.sinks.append(.file(try sink.string(key) ?? ""))
                case "kafka": alerts.sinks.append(.kafka(try sink.string(key) ?? ""))
                default: alerts.sinks.append(.stdout)
                }
            }
        }
    }
}

/// A YAML mapping with the path it sits at, for error messages.
struct YAMLMap {
    let path: String
    let entries: [(key: String, value: Node, line: Int)]

    init(_ node: Node, path: String) throws {
        self.path = path
        guard let mapping = node.mapping else {
            throw ConfigError("config: `\(path.isEmpty ? "(top level)" : path)` must be a mapping\(YAMLMap.at(node))")
        }
        var entries: [(String, Node, Int)] = []
        for (k, v) in mapping {
            guard let key = k.string else { throw ConfigError("config: `\(path)`: keys must be strings\(YAMLMap.at(k))") }
            if entries.contains(where: { $0.0 == key }) {
                throw ConfigError("config: `\(YAMLMap.join(path, key))` is set twice\(YAMLMap.at(k))")
            }
            entries.append((key, v, k.mark?.line ?? 0))
        }
        self.entries = entries
    }

    static func at(_ node: Node) -> String {
        node.mark.map { " (line \($0.line))" } ?? ""
    }

    static func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : "\(a).\(b)" }

    var keys: [String] { entries.map(\.key) }

    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    func allowOnly(_ allowed: Set<String>) throws {
        for e in entries where !allowed.contains(e.key) {
            let known = allowed.sorted().joined(separator: ", ")
            throw ConfigError("config: unknown key `\(YAMLMap.join(path, e.key))` (line \(e.line)); known here: \(known)")
        }
    }

    /// The value, or nil when absent or null.
    func node(_ key: String) -> Node? {
        guard let v = entries.first(where: { $0.key == key })?.value else { return nil }
        if v.null != nil { return nil }
        return v
    }

    func fail(_ key: String, _ what: String) -> ConfigError {
        let line = entries.first(where: { $0.key == key })?.line
        return ConfigError("config: `\(YAMLMap.join(path, key))` \(what)\(line.map { " (line \($0))" } ?? "")")
    }

    func string(_ key: String) throws -> String? {
        guard let v = node(key) else { return nil }
        guard let scalar = v.scalar else { throw fail(key, "must be a single value") }
        return scalar.string
    }

    func strings(_ key: String) throws -> [String]? {
        guard let v = node(key) else { return nil }
        if let scalar = v.scalar { return [scalar.string] }
        guard let seq = v.sequence else { throw fail(key, "must be a list") }
        return try seq.map {
            guard let s = $0.scalar?.string else { throw fail(key, "must be a list of strings") }
            return s
        }
    }

    func double(_ key: String) throws -> Double? {
        guard let v = node(key) else { return nil }
        guard let x = v.float ?? v.int.map(Double.init), x.isFinite else { throw fail(key, "must be a number") }
        return x
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = node(key) else { return nil }
        guard let x = v.int else { throw fail(key, "must be an integer") }
        guard range.contains(x) else { throw fail(key, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return x
    }

    func duration(_ key: String, allowZero: Bool = false) throws -> Int64? {
        guard let text = try string(key) else { return nil }
        guard let us = DurationText.microseconds(text), us > 0 || (allowZero && us == 0) else {
            throw fail(key, "must be a duration like 500ms, 30s, 5m, 1h or 1d, not \"\(text)\"")
        }
        return us
    }

    func map(_ key: String) throws -> YAMLMap? {
        guard let v = node(key) else { return nil }
        return try YAMLMap(v, path: YAMLMap.join(path, key))
    }

    func maps(_ key: String) throws -> [YAMLMap] {
        guard let v = node(key) else { return [] }
        guard let seq = v.sequence else { throw fail(key, "must be a list") }
        return try seq.enumerated().map { try YAMLMap($1, path: "\(YAMLMap.join(path, key))[\($0)]") }
    }

    func stringDictionary() throws -> [String: String] {
        var result: [String: String] = [:]
        for e in entries {
            guard let s = e.value.scalar?.string else {
                throw ConfigError("config: `\(YAMLMap.join(path, e.key))` must be a single value (line \(e.line))")
            }
            result[e.key] = s
        }
        return result
    }
}
