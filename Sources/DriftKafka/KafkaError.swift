/// An error reported by librdkafka, or by Driftline while driving it.
///
/// Every failing librdkafka return code becomes a `KafkaError` in exactly one place (the internal
/// `RDKafka.error(for:detail:context:)`), so the ``code`` is always the raw value of librdkafka's
/// `rd_kafka_resp_err_t`: negative values are client-side conditions such as
/// ``Code/transport`` or ``Code/timedOut``, positive values are Kafka protocol errors returned
/// by a broker (for example ``Code/topicAlreadyExists``).
///
/// The ``message`` is librdkafka's own text: `rd_kafka_err2str` for a return code, or the
/// `errstr` buffer a call filled in (for example `No such configuration property: "foo"` from
/// `rd_kafka_conf_set`), so users see the library's wording rather than a paraphrase.
public struct KafkaError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A librdkafka error code: the raw value of `rd_kafka_resp_err_t`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The raw `rd_kafka_resp_err_t` value.
        public var rawValue: Int32

        /// Wraps a raw `rd_kafka_resp_err_t` value.
        public init(rawValue: Int32) {
            self.rawValue = rawValue
        }

        /// librdkafka's symbolic name for the code, such as `_TRANSPORT`.
        ///
        /// The corresponding C function is `rd_kafka_err2name`.
        public var name: String {
            RDKafka.errorName(rawValue)
        }

        public var description: String {
            "\(name) (\(rawValue))"
        }
    }

    /// The librdkafka error code.
    public var code: Code

    /// librdkafka's description of the failure.
    public var message: String

    /// What Driftline was doing when the error happened, such as
    /// `setting configuration property "foo"`; `nil` when the code speaks for itself.
    public var context: String?

    /// Creates an error from its parts.
    ///
    /// Code inside DriftKafka gets errors from librdkafka return codes instead; this initializer
    /// exists for callers that need to build or compare errors.
    public init(code: Code, message: String, context: String? = nil) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String {
        if let context {
            return "\(context): \(message) [\(code.name)]"
        }
        return "\(message) [\(code.name)]"
    }
}
