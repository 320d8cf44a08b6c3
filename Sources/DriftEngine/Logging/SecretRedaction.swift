import Synchronization

/// The values Driftline must never print: those of Kafka properties named like secrets.
///
/// A property is secret when its name contains `password`, `secret`, `key` or `token` (any
/// case), or is `sasl.oauthbearer.config` (which carries credentials for unsecured JWTs):
/// `sasl.password`, `ssl.key.password`, `ssl.keystore.password`, `ssl.key.pem`,
/// `sasl.oauthbearer.client.secret`... The rule errs on the side of hiding: `ssl.key.location`
/// is a path, but hiding it costs nothing.
///
/// Reading a config (``DriftlineConfig/init(contentsOf:)``) registers its secret values;
/// ``DriftlineLogHandler`` and the command line's error and status lines pass what they print
/// through ``redact(_:)``. Checkpoints, snapshots and `inspect` never hold the properties in
/// the first place. librdkafka's own log lines are its business: it prints sensitive
/// properties as `[redacted]`.
public enum SecretRedaction {
    static let registered = Mutex<[String]>([])
    public static let replacement = "<redacted>"

    /// Whether a librdkafka property of this name holds a secret.
    public static func isSecret(propertyName name: String) -> Bool {
        let lower = name.lowercased()
        return ["password", "secret", "key", "token"].contains { lower.contains($0) } || lower == "sasl.oauthbearer.config"
    }

    /// Remembers the values of the secret properties among `properties` for ``redact(_:)``.
    public static func register(_ properties: [String: String]) {
        let values = properties.filter { isSecret(propertyName: $0.key) && !$0.value.isEmpty }.map(\.value)
        guard !values.isEmpty else { return }
        registered.withLock { known in
            // Longest first, so a secret that contains another is hidden whole.
            known = Array(Set(known + values)).sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
        }
    }

    /// `text` with every registered secret value replaced by ``replacement``.
    public static func redact(_ text: String) -> String {
        let values = registered.withLock { $0 }
        var text = text
        for value in values where text.contains(value) { text = text.replacing(value, with: replacement) }
        return text
    }
}
