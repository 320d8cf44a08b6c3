import DriftCore

/// Where `run` and `replay` send the snapshots of closed windows: a directory
/// (``SnapshotWriter``), a Kafka topic (``SnapshotProducer``), or both, with the same bytes.
public final class SnapshotOutputs {
    public let directory: SnapshotWriter?
    public let topic: SnapshotProducer?

    /// - Parameters:
    ///   - directory: `--snapshots DIR`.
    ///   - topic: `--snapshots-topic NAME`, produced through `bootstrapServers` with the
    ///     config's `kafka.properties`.
    /// - Returns: `nil` when neither is asked for.
    /// - Throws: ``ConfigError`` when the config's reference is not a profile file, or an error
    ///   opening the directory or the producer.
    public static func open(
        directory: String?, topic: String?, bootstrapServers: String, config: DriftlineConfig, profile: ReferenceProfile?
    ) throws -> SnapshotOutputs? {
        guard directory != nil || topic != nil else { return nil }
        let encoder = try SnapshotEncoder(config: config, profile: profile)
        return SnapshotOutputs(
            directory: try directory.map { try SnapshotWriter(directory: $0, encoder: encoder) },
            topic: try topic.map {
                try SnapshotProducer(
                    topic: $0, bootstrapServers: bootstrapServers, properties: config.kafka.properties, encoder: encoder)
            })
    }

    init(directory: SnapshotWriter?, topic: SnapshotProducer?) {
        self.directory = directory
        self.topic = topic
    }

    /// An `onWindow` hook that runs `previous` (if any), then writes the window's snapshot to
    /// the directory, then to the topic.
    public func hook(after previous: ((ClosedWindow) throws -> Void)?) -> (ClosedWindow) throws -> Void {
        { window in
            try previous?(window)
            try self.directory?.write(window)
            try self.topic?.write(window)
        }
    }

    /// Makes every snapshot so far durable: files are when written, records once delivered.
    /// A live run calls it before each checkpoint.
    public func flush() throws {
        try topic?.flush()
    }

    /// Flushes and refuses later writes.
    public func close() throws {
        try directory?.close()
        try topic?.flush()
    }

    /// What was written, for the closing lines.
    public var summary: String {
        var parts: [String] = []
        if let directory { parts.append("\(directory.written) files in \(directory.directory)") }
        if let topic { parts.append("\(topic.delivered) records delivered to topic \(topic.topic)") }
        return "snapshots: " + parts.joined(separator: ", ")
    }
}
