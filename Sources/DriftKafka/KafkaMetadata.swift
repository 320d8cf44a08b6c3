/// One-shot cluster metadata requests.
public enum KafkaMetadata {
    /// Connects to a cluster with a short-lived client and asks any broker for the metadata of
    /// all topics.
    ///
    /// A new librdkafka client handle is created and destroyed for each call, so this is meant for
    /// checks and tooling (is the broker up, does the topic exist, how many partitions), not for
    /// hot paths. The call blocks the calling thread.
    ///
    /// librdkafka logs connection problems to stderr at its default `log_level`; pass
    /// `["log_level": "0"]` in `properties` to silence it (the thrown error still says what
    /// failed).
    ///
    /// The corresponding C function is `rd_kafka_metadata`.
    ///
    /// - Parameters:
    ///   - bootstrapServers: Comma-separated `host:port` list, such as
    ///     ``EmbeddedBroker/bootstrapServers``.
    ///   - timeout: How long to wait for a usable broker and its answer; rounded down to whole
    ///     milliseconds, at least 1 ms, at most `Int32.max` ms.
    ///   - properties: Additional librdkafka client properties (for example `security.protocol`),
    ///     applied after `bootstrap.servers`.
    /// - Returns: The metadata the answering broker reported.
    /// - Throws: ``KafkaError``: ``KafkaError/Code/invalidArgument`` for a rejected property,
    ///   typically ``KafkaError/Code/transport`` or ``KafkaError/Code/timedOut`` when no broker
    ///   answered within `timeout`.
    public static func fetch(
        bootstrapServers: String,
        timeout: Duration = .seconds(5),
        properties: [String: String] = [:]
    ) throws(KafkaError) -> ClusterMetadata {
        var config = RDKafkaConfig()
        try config.set("bootstrap.servers", bootstrapServers)
        for key in properties.keys.sorted() {
            try config.set(key, properties[key]!)
        }
        let client = try RDKafkaClient(type: .producer, config: config)
        return try client.metadata(timeoutMilliseconds: timeout.librdkafkaTimeoutMilliseconds)
    }
}
