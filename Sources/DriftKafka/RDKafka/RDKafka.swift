import CRdKafka

/// Process-wide librdkafka functions and the single conversion from return codes to errors.
///
/// Every `rd_kafka_*` call of Driftline lives in this folder; public types reach librdkafka only
/// through the internal wrappers here and never see an `OpaquePointer`.
enum RDKafka {
    /// The error for a failing librdkafka return code.
    ///
    /// This is the one place where a librdkafka return code becomes a Swift error; the other
    /// functions here only decide whether to call it.
    ///
    /// - Parameters:
    ///   - code: The `rd_kafka_resp_err_t` a librdkafka function returned or recorded.
    ///   - detail: Text the call wrote to its `errstr` buffer, when it has one; it is more specific
    ///     than `rd_kafka_err2str` and replaces it. Empty text counts as absent.
    ///   - context: What Driftline was doing.
    /// - Returns: A ``KafkaError`` carrying `code` and librdkafka's text.
    static func error(
        for code: rd_kafka_resp_err_t,
        detail: String? = nil,
        context: String? = nil
    ) -> KafkaError {
        let message: String
        if let detail, !detail.isEmpty {
            message = detail
        } else {
            message = String(cString: rd_kafka_err2str(code))
        }
        return KafkaError(code: KafkaError.Code(code), message: message, context: context)
    }

    /// Throws a ``KafkaError`` when a librdkafka call failed; returns when it succeeded.
    ///
    /// - Parameters:
    ///   - code: The `rd_kafka_resp_err_t` a librdkafka function returned.
    ///   - detail: The call's `errstr` text, if any (see ``error(for:detail:context:)``).
    ///   - context: What Driftline was doing, evaluated only on failure.
    /// - Throws: ``KafkaError`` unless `code` is `RD_KAFKA_RESP_ERR_NO_ERROR`.
    static func check(
        _ code: rd_kafka_resp_err_t,
        detail: String? = nil,
        context: @autoclosure () -> String? = nil
    ) throws(KafkaError) {
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        throw error(for: code, detail: detail, context: context())
    }

    /// The code librdkafka recorded for the last failed call on this thread, or `fallback` when
    /// it recorded none.
    ///
    /// Functions that return `NULL` instead of a code (`rd_kafka_new`,
    /// `rd_kafka_mock_cluster_new`) leave their reason here, when they leave one at all.
    static func lastError(or fallback: rd_kafka_resp_err_t) -> rd_kafka_resp_err_t {
        let last = rd_kafka_last_error()
        return last == RD_KAFKA_RESP_ERR_NO_ERROR ? fallback : last
    }

    /// Runs `body` with a zeroed buffer sized for librdkafka's `errstr` arguments and returns its
    /// result together with the text librdkafka left in the buffer.
    ///
    /// The buffer pointer is only valid inside `body`: do not escape it.
    static func withErrorBuffer<Result>(
        _ body: (UnsafeMutablePointer<CChar>, Int) -> Result
    ) -> (result: Result, errorText: String) {
        // librdkafka truncates longer messages; its own examples use 512 bytes.
        let capacity = 512
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
            let base = buffer.baseAddress!
            base.initialize(repeating: 0, count: capacity)
            let result = body(base, capacity)
            base[capacity - 1] = 0
            return (result, String(cString: base))
        }
    }

    /// librdkafka's symbolic name for a code (`rd_kafka_err2name`).
    static func errorName(_ rawValue: Int32) -> String {
        String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue)))
    }

    /// The linked library's version string (`rd_kafka_version_str`).
    static func versionString() -> String {
        String(cString: rd_kafka_version_str())
    }

    /// The linked library's packed version `0xMMmmrrpp` (`rd_kafka_version`).
    static func versionNumber() -> Int {
        Int(rd_kafka_version())
    }
}

extension KafkaError.Code {
    init(_ code: rd_kafka_resp_err_t) {
        self.init(rawValue: code.rawValue)
    }

    /// `RD_KAFKA_RESP_ERR__FAIL`: a generic local failure.
    public static let fail = Self(RD_KAFKA_RESP_ERR__FAIL)
    /// `RD_KAFKA_RESP_ERR__TRANSPORT`: the connection to a broker failed or no broker was usable.
    public static let transport = Self(RD_KAFKA_RESP_ERR__TRANSPORT)
    /// `RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN`: every known broker is unreachable.
    public static let allBrokersDown = Self(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    /// `RD_KAFKA_RESP_ERR__TIMED_OUT`: the operation did not finish within its timeout.
    public static let timedOut = Self(RD_KAFKA_RESP_ERR__TIMED_OUT)
    /// `RD_KAFKA_RESP_ERR__INVALID_ARG`: an argument or configuration value was rejected.
    public static let invalidArgument = Self(RD_KAFKA_RESP_ERR__INVALID_ARG)
    /// `RD_KAFKA_RESP_ERR__STATE`: the object is in the wrong state, for example already stopped.
    public static let state = Self(RD_KAFKA_RESP_ERR__STATE)
    /// `RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS`: a topic with that name exists.
    public static let topicAlreadyExists = Self(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
}
