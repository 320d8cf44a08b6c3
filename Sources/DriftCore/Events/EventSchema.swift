/// Where the fields Driftline needs sit inside an event: dotted paths into nested
/// JSON objects (`features.amount`), or CSV column names.
///
/// A path's segments are object keys; a key that itself contains a dot cannot be
/// addressed (such schemas are rare; say so in the config error if one is needed).
public struct EventSchema: Sendable, Hashable {
    /// The event time: epoch seconds, milliseconds or microseconds as a number
    /// (told apart by magnitude, see ``EventTime``), or an RFC 3339 string with offset.
    public var timestamp: String
    /// The model id (a string or an integer); events without it are model ``defaultModel``.
    public var model: String?
    /// Numeric features (the prediction score is one of them).
    public var numeric: [String]
    /// Categorical features: strings, booleans or integers.
    public var categorical: [String]
    /// Model ids with windows of their own; further ids are pooled as `__other__`, so an id
    /// per event cannot make the open windows grow without bound.
    public var maxModels = 1000

    /// The model of events that carry no model id.
    public static let defaultModel = "default"

    public init(timestamp: String, model: String? = nil, numeric: [String], categorical: [String]) {
        self.timestamp = timestamp
        self.model = model
        self.numeric = numeric
        self.categorical = categorical
    }
}

/// Why an event was rejected. Every rejected event is counted by reason and written
/// to the dead-letter output with its position; nothing is dropped silently.
public enum RejectReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// Not valid JSON (RFC 8259), or trailing bytes after the object.
    case malformedJSON = "malformed_json"
    /// A string that is not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// The event is valid JSON but not an object.
    case notAnObject = "not_an_object"
    /// Objects or arrays nested deeper than the limit.
    case nestingTooDeep = "nesting_too_deep"
    /// A line (event) longer than the limit.
    case lineTooLong = "line_too_long"
    /// No value at the timestamp path (or null).
    case missingTimestamp = "missing_timestamp"
    /// A timestamp that is neither a number nor an RFC 3339 string, or out of range.
    case invalidTimestamp = "invalid_timestamp"
    /// A string, object, array or boolean where a number belongs, including the
    /// strings "NaN" and "Infinity".
    case notANumber = "not_a_number"
    /// A number whose magnitude overflows a double (e.g. 1e400).
    case numberOutOfRange = "number_out_of_range"
    /// An object or array where a categorical value belongs.
    case invalidCategory = "invalid_category"
    /// A model id that is not a string or an integer.
    case invalidModel = "invalid_model"
    /// A CSV row whose number of fields differs from the header.
    case wrongFieldCount = "wrong_field_count"
    /// An event that arrived after the watermark passed its window.
    case late = "late"
    /// A blank line where an event belongs.
    case emptyLine = "empty_line"
    /// An event time further in the future than `window.max_future_skew` allows: one broken
    /// clock must not push the watermark past every real event.
    case futureTimestamp = "future_timestamp"
}

/// Epoch microseconds: the event time Driftline keeps (±292 000 years).
public typealias EpochMicroseconds = Int64
