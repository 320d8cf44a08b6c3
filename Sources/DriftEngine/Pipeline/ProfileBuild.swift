import DriftCore

/// Builds a reference profile from recorded events (`driftline profile`).
public enum ProfileBuild {
    public struct Summary: Sendable {
        public var linesRead: Int64 = 0
        /// CSV header rows (neither accepted nor rejected).
        public var headerLines: Int64 = 0
        public var accepted: Int64 = 0
        public var rejectedByReason: [RejectReason: Int64] = [:]
        public var models = 0
        public var bytes = 0
        /// Inputs that gave no event, and configured features that no input had a value for
        /// (a path or CSV column name that does not match the data, most likely).
        public var warnings: [String] = []

        public var rejected: Int64 { rejectedByReason.values.reduce(0, +) }

        public func render(output: String) -> String {
            var s = "profile \(output): \(accepted) events, \(models) model\(models == 1 ? "" : "s"), \(bytes) bytes"
            s += "\nlines \(linesRead): accepted \(accepted), rejected \(rejected)"
            if headerLines > 0 { s += ", csv header \(headerLines)" }
            for (reason, n) in rejectedByReason.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                s += "\n  rejected \(reason.rawValue): \(n)"
            }
            for w in warnings { s += "\nwarning: \(w)" }
            return s
        }
    }

    /// Reads every input, builds the profile and writes it atomically to `output`.
    public static func run(
        config: DriftlineConfig, inputs: [String], output: String, deadLetterPath: String? = nil,
        strict: Bool = false, progress: ((Int64, Int64, Int64) -> Void)? = nil
    ) throws -> Summary {
        var summary = Summary()
        let schema = config.input
        var builder = ReferenceBuilder(schema: schema, binning: config.binning)
        var batch = EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count)
        let deadLetters = try DeadLetterWriter(path: deadLetterPath)
        // Stopped by an error (`--strict` included): the dead letters so far still reach the file.
        defer { try? deadLetters.close() }
        for path in inputs {
            let reader = try EventReader(path: path, schema: schema, limits: config.limits)
            var more = true
            while more {
                batch.removeAll()
                more = try reader.next(into: &batch) { r in
                    try deadLetters.write(source: path, position: r.position, reason: r.reason, raw: r.raw)
                    if strict { throw StrictModeStop(source: path, position: r.position, reason: r.reason) }
                }
                builder.add(batch)
                progress?(reader.lines.source.fileBytesRead, reader.lines.source.fileSize, summary.accepted + reader.accepted)
            }
            if let warning = reader.unusedWarning { summary.warnings.append(warning) }
            summary.linesRead += reader.linesRead
            summary.headerLines += reader.headerLines
            summary.accepted += reader.accepted
            for (k, v) in reader.rejectedByReason { summary.rejectedByReason[k, default: 0] += v }
        }
        try deadLetters.close()
        guard summary.accepted > 0 else {
            throw FileError("no usable event in \(inputs.joined(separator: ", ")): nothing to build a profile from")
        }
        let profile = builder.build()
        let bytes = try profile.fileBytes()
        let writer = try FileWriter(path: output, atomic: true)
        try writer.write(bytes)
        try writer.close()
        let empty = schema.numeric.indices.filter { profile.pooled.numeric[$0].count == 0 }.map { schema.numeric[$0] }
            + schema.categorical.indices.filter { profile.pooled.categorical[$0].counts.total == 0 }.map { schema.categorical[$0] }
        summary.warnings += empty.map { "\($0): no input has a value for it (is the path or CSV column name right?)" }
        summary.models = profile.models.count
        summary.bytes = bytes.count
        return summary
    }
}
