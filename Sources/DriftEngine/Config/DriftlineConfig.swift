import DriftCore

/// Driftline's configuration, read from YAML (the keys are a contract: DESIGN.md).
///
/// Unknown keys are rejected with their name and line: a typo in a monitor's
/// config must not silently switch a rule off.
public struct DriftlineConfig: Sendable {
    public var input: EventSchema
    /// `input.max_event_bytes` and `input.max_depth`: longer or deeper events are rejected
    /// (`line_too_long`, `nesting_too_deep`).
    public var limits = DecoderLimits()
    public var reference = ReferenceSettings()
    public var window = WindowSettings()
    public var drift = DriftSettings()
    public var kafka = KafkaSettings()
    public var checkpoint = CheckpointSettings()
    public var alerts = AlertSettings()
    public var scaleOut = ScaleOutSettings()
    /// Directory of the config file; relative paths in it are resolved from there.
    public var configDirectory = ""

    public init(input: EventSchema) {
        self.input = input
    }
}

/// `reference:` — where the reference comes from and how it is binned.
public struct ReferenceSettings: Sendable, Hashable {
    /// Path of a profile written by `driftline profile` (relative to the config file).
    public var profile: String?
    /// Use this much event time at the start of the stream as the reference instead.
    public var fromStreamMicroseconds: Int64?
    /// Reference-quantile bins for PSI and JS.
    public var psiBins = 10
    /// Fine reference-quantile bins for KS and Wasserstein.
    public var ksBins = 1000
    /// Reference categories kept per categorical feature; the rest are `__other__`.
    public var topK = 1000
    public init() {}
}

/// `window:` — event-time windows aligned to the Unix epoch.
public struct WindowSettings: Sendable, Hashable {
    public var sizeMicroseconds: Int64 = 300_000_000
    /// Equal to the size for tumbling windows, smaller for hopping ones.
    public var slideMicroseconds: Int64 = 300_000_000
    public var latenessMicroseconds: Int64 = 30_000_000
    /// Events dated more than this after the wall clock are rejected (`nil`: no limit).
    public var maxFutureSkewMicroseconds: Int64? = 86_400_000_000
    public init() {}

    /// The newest event time accepted now (`.max` without a limit).
    func futureLimit() -> EpochMicroseconds {
        maxFutureSkewMicroseconds.map { wallClockMicroseconds() &+ $0 } ?? .max
    }
}

/// `drift:` — when a window counts as drifted.
public struct DriftSettings: Sendable, Hashable {
    /// A feature drifts when PSI ≥ this (`nil`: rule off).
    public var psi: Double? = 0.2
    /// ... or when the KS (numeric) or chi-square (categorical) p-value < this (`nil`: off).
    public var ksPValue: Double?
    /// Windows with fewer values never flag drift.
    public var minCount = 100
    public init() {}
}

/// `kafka:` — the source `driftline run` attaches to.
public struct KafkaSettings: Sendable, Hashable {
    public var brokers = "127.0.0.1:9092"
    public var topics: [String] = []
    public var group = "driftline"
    /// Passed verbatim to librdkafka; values are never logged.
    public var properties: [String: String] = [:]
    /// A partition without messages for this long stops holding the watermark back.
    public var idleTimeoutMicroseconds: Int64 = 30_000_000
    public init() {}
}

/// `checkpoint:` — where and how often state is made durable.
public struct CheckpointSettings: Sendable, Hashable {
    public var directory = "state/"
    public var intervalMicroseconds: Int64 = 5_000_000
    public init() {}
}

/// `scale_out:` — several `driftline run --role worker` processes and one evaluator.
public struct ScaleOutSettings: Sendable, Hashable {
    /// Compacted topic of the partitions' state (default `<group>.state`).
    public var stateTopic: String?
    /// Topic of the partitions' partial aggregates (default `<group>.partials`); partition 0 only.
    public var partialsTopic: String?
    /// How long (wall clock) the evaluator waits for a partition that has not reported past a
    /// window it holds shares of, before closing the window without it.
    public var graceMicroseconds: Int64 = 60_000_000
    public init() {}
}

/// `alerts:` — rules and sinks.
public struct AlertSettings: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public var name: String
        public var metric: String
        public var op: String
        public var threshold: Double
        public var features: [String] = ["*"]
        public var models: [String] = ["*"]
        public var forWindows = 1
        public var resolveAfter = 1
        public var severity = "warning"
        public var labels: [String: String] = [:]
        public var summary: String?
        /// Multiple-testing correction across the features a p-value rule selects.
        public var correction: Correction = .none
        /// Windows with fewer values change nothing (default: `drift.min_count`).
        public var minCount: Int?
    }

    public enum Correction: String, Sendable, Hashable {
        case none
        case benjaminiHochberg = "benjamini_hochberg"
    }

    public enum Sink: Sendable, Hashable {
        case webhook(String)
        case file(String)
        case kafka(String)
        case stdout
    }

    public var rules: [Rule] = []
    public var sinks: [Sink] = []
    /// Name of an environment variable with a bearer token for the webhook sinks.
    public var webhookTokenEnvironment: String?
    public init() {}
}

extension DriftlineConfig {
    public var stateTopic: String { scaleOut.stateTopic ?? "\(kafka.group).state" }
    public var partialsTopic: String { scaleOut.partialsTopic ?? "\(kafka.group).partials" }
}
