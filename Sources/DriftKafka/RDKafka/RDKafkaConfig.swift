import CRdKafka

/// A librdkafka configuration (`rd_kafka_conf_t`) being built for one client handle.
///
/// The value owns its `rd_kafka_conf_t` until ``RDKafkaClient`` takes it with
/// ``takeOwnership()``; if that never happens, `deinit` frees it. It is noncopyable so that the
/// pointer has exactly one owner, and it is not `Sendable`: build it on one thread, then hand it on.
struct RDKafkaConfig: ~Copyable {
    private let pointer: OpaquePointer

    /// Creates a configuration holding librdkafka's defaults (`rd_kafka_conf_new`).
    init() {
        pointer = rd_kafka_conf_new()
    }

    /// Creates a configuration and applies `properties` in key order, so a failure is reported
    /// for the same key on every run.
    ///
    /// - Throws: ``KafkaError`` for the first unknown key or invalid value.
    init(_ properties: [String: String]) throws(KafkaError) {
        self.init()
        for key in properties.keys.sorted() {
            try set(key, properties[key]!)
        }
    }

    deinit {
        rd_kafka_conf_destroy(pointer)
    }

    /// Sets one configuration property.
    ///
    /// The corresponding C function is `rd_kafka_conf_set`.
    ///
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/invalidArgument`` and librdkafka's
    ///   `errstr` text (for example `No such configuration property: "foo"`) when the key is
    ///   unknown or the value invalid.
    mutating func set(_ key: String, _ value: String) throws(KafkaError) {
        let (result, errorText) = RDKafka.withErrorBuffer { errstr, size in
            rd_kafka_conf_set(pointer, key, value, errstr, size)
        }
        // rd_kafka_conf_set reports an rd_kafka_conf_res_t, not an rd_kafka_resp_err_t; both of
        // its failures (unknown key, invalid value) are invalid arguments, and errstr says which.
        let code = result == RD_KAFKA_CONF_OK ? RD_KAFKA_RESP_ERR_NO_ERROR : RD_KAFKA_RESP_ERR__INVALID_ARG
        try RDKafka.check(code, detail: errorText, context: "setting configuration property \"\(key)\"")
    }

    /// Gives up ownership of the `rd_kafka_conf_t` without freeing it.
    ///
    /// The caller becomes responsible for the pointer: it must either pass it to a function that
    /// takes ownership (`rd_kafka_new`, on success only) or free it with `rd_kafka_conf_destroy`.
    consuming func takeOwnership() -> OpaquePointer {
        let pointer = self.pointer
        discard self
        return pointer
    }
}

extension RDKafkaConfig {
    /// Lends the `rd_kafka_conf_t` to `body` for the setters that take C callbacks
    /// (`rd_kafka_conf_set_*_cb`, `rd_kafka_conf_set_opaque`). Do not escape the pointer.
    func withUnsafePointer<Result>(_ body: (OpaquePointer) -> Result) -> Result {
        body(pointer)
    }
}
