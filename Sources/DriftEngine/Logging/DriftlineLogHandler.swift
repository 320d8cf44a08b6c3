#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import Logging

/// swift-log handler writing one line per message to standard error: `human` (time, level,
/// message, metadata as key=value) or `json` (one JSON object per line with `ts`, `level`,
/// `logger`, `message` and the metadata), for log shippers. Secret values registered with
/// ``SecretRedaction`` are replaced by `<redacted>`.
public struct DriftlineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case human
        case json
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let format: Format

    public init(label: String, format: Format) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        let text = Self.line(format: format, label: label, level: event.level, message: "\(event.message)", metadata: all, now: Self.now())
        var out = text + "\n"
        out.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func now() -> EpochMicroseconds {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec / 1000)
    }

    static func line(
        format: Format, label: String, level: Logger.Level, message: String, metadata: Logger.Metadata, now: EpochMicroseconds
    ) -> String {
        let keys = metadata.keys.sorted()
        // Secrets go before formatting: JSON escaping would hide one with a quote in it.
        let message = SecretRedaction.redact(message)
        let values = keys.map { SecretRedaction.redact("\(metadata[$0]!)") }
        switch format {
        case .human:
            // One line, whatever the message holds.
            var s = "\(TimestampFormat.rfc3339Milliseconds(now)) \(level.rawValue.uppercased()) "
            s += message.split(separator: "\n").joined(separator: "; ")
            for (k, v) in zip(keys, values) { s += " \(k)=\(v)" }
            return s
        case .json:
            var w = JSONObjectWriter()
            w.string("ts", TimestampFormat.rfc3339Milliseconds(now))
            w.string("level", level.rawValue)
            w.string("logger", label)
            w.string("message", message)
            for (k, v) in zip(keys, values) { w.string(k, v) }
            return w.finish()
        }
    }
}
