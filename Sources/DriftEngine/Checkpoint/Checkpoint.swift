#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftStats

/// Everything needed to resume a live run exactly where it was: the open aggregates, where to
/// read next in every partition, and how long the output files were at that moment.
public struct Checkpoint: Sendable, Equatable {
    /// Increases by one per checkpoint written; also the file name.
    public var sequence: UInt64
    /// ``ReferenceProfile/fingerprint`` of the profile the aggregates are binned by.
    public var profileFingerprint: UInt32
    /// The config settings the state depends on (schema, window, binning), as text.
    public var settings: String
    /// Next offset to read, per partition (`topic/partition`).
    public var positions: [String: Int64]
    /// ``PartitionedAggregator/encode(to:)`` of the aggregates.
    public var aggregates: [UInt8]
    /// Bytes of the results and dead-letter files that belong to this state; on restore the
    /// files are cut back to these lengths, so windows closed after the checkpoint are written
    /// once, not twice.
    public var resultsLength: Int64?
    public var deadLetterLength: Int64?
    /// Running counters (events accepted, rejected, late...).
    public var counters: [String: Int64]
    /// ``Alerting/encodeState(to:)``: which alerts fire, their streaks.
    public var alertState: [UInt8] = []
    /// Bytes of the alerts file that belong to this state.
    public var alertsLength: Int64?

    public init(
        sequence: UInt64, profileFingerprint: UInt32, settings: String, positions: [String: Int64], aggregates: [UInt8],
        resultsLength: Int64?, deadLetterLength: Int64?, counters: [String: Int64]
    ) {
        self.sequence = sequence
        self.profileFingerprint = profileFingerprint
        self.settings = settings
        self.positions = positions
        self.aggregates = aggregates
        self.resultsLength = resultsLength
        self.deadLetterLength = deadLetterLength
        self.counters = counters
    }

    func payload() -> [UInt8] {
        var w = ByteWriter(capacity: aggregates.count + 256)
        w.u64(sequence)
        w.u32(profileFingerprint)
        w.string(settings)
        let names = positions.keys.sorted()
        w.int(names.count)
        for name in names {
            w.string(name)
            w.i64(positions[name]!)
        }
        w.int(aggregates.count)
        w.raw(aggregates)
        w.i64(resultsLength ?? -1)
        w.i64(deadLetterLength ?? -1)
        let counterNames = counters.keys.sorted()
        w.int(counterNames.count)
        for name in counterNames {
            w.string(name)
            w.i64(counters[name]!)
        }
        w.int(alertState.count)
        w.raw(alertState)
        w.i64(alertsLength ?? -1)
        return w.bytes
    }

    init(payload: [UInt8]) throws(ByteReaderError) {
        var r = ByteReader(payload)
        sequence = try r.u64()
        profileFingerprint = try r.u32()
        settings = try r.string()
        positions = [:]
        for _ in 0..<(try r.count(unit: 12)) {
            let name = try r.string()
            positions[name] = try r.i64()
        }
        aggregates = try r.raw(try r.count(unit: 1))
        let results = try r.i64()
        resultsLength = results >= 0 ? results : nil
        let deadLetters = try r.i64()
        deadLetterLength = deadLetters >= 0 ? deadLetters : nil
        counters = [:]
        for _ in 0..<(try r.count(unit: 12)) {
            let name = try r.string()
            counters[name] = try r.i64()
        }
        alertState = try r.raw(try r.count(unit: 1))
        let alerts = try r.i64()
        alertsLength = alerts >= 0 ? alerts : nil
        guard r.isAtEnd else { throw ByteReaderError("trailing bytes after the checkpoint") }
    }

    /// The checkpoint as a file (``FileContainer`` of kind checkpoint).
    public func fileBytes() throws -> [UInt8] {
        try FileContainer.encode(.checkpoint, payload: payload(), level: 1)
    }

    /// Reads a checkpoint file's bytes.
    ///
    /// - Throws: ``FormatError`` for anything but a complete, intact checkpoint.
    public init(fileBytes: [UInt8]) throws(FormatError) {
        let (_, payload) = try FileContainer.decode(.checkpoint, fileBytes)
        do {
            try self.init(payload: payload)
        } catch {
            throw FormatError("checkpoint: \(error)")
        }
    }
}

/// A directory of checkpoints: `checkpoint-<sequence>.drc` files, each written to a temporary
/// file, fsynced and renamed into place, then the directory fsynced. The newest two are kept,
/// so a checkpoint that turns out unreadable still leaves the one before it.
///
/// The directory is created with mode 0700 and the files with 0600: a checkpoint holds
/// aggregates of production data.
public final class CheckpointStore {
    public let directory: String
    public static let keep = 2

    public init(directory: String) throws {
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.directory = dir
        try Self.makeDirectory(dir)
    }

    static func makeDirectory(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw FileError("checkpoint directory \(path) is not a directory") }
            return
        }
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty && parent != path { try makeDirectory(parent) }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw FileError.errno("cannot create checkpoint directory", path) }
    }

    func path(of sequence: UInt64) -> String {
        var digits = String(sequence)
        if digits.count < 12 { digits = String(repeating: "0", count: 12 - digits.count) + digits }
        return "\(directory)/checkpoint-\(digits).drc"
    }

    /// Checkpoint files present, newest first.
    public func files() -> [(sequence: UInt64, path: String)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var found: [(UInt64, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".drc"),
                  let sequence = UInt64(name.dropFirst(11).dropLast(4))
            else { continue }
            found.append((sequence, "\(directory)/\(name)"))
        }
        return found.sorted { $0.0 > $1.0 }
    }

    /// Makes `checkpoint` durable, then removes all but the newest ``keep``.
    ///
    /// - Returns: The size of the file written.
    /// - Throws: ``FileError`` when it cannot be written; no partial file is left visible.
    @discardableResult
    public func write(_ checkpoint: Checkpoint) throws -> Int {
        let bytes = try checkpoint.fileBytes()
        let writer = try FileWriter(path: path(of: checkpoint.sequence), atomic: true, mode: 0o600)
        try writer.write(bytes)
        try writer.sync()
        FaultInjection.reached(.checkpointWrite)
        try writer.close()
        FaultInjection.reached(.checkpointRenamed)
        // The rename is durable only once the directory is synced.
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            Glibc.close(fd)
        }
        for old in files().dropFirst(Self.keep) { unlink(old.path) }
        return bytes.count
    }

    /// Removes the temporary files (`checkpoint-<sequence>.drc.tmp-<pid>`) of writers that died
    /// before renaming them: a process killed while writing leaves one behind. A file whose
    /// process still runs is left alone.
    ///
    /// - Returns: The paths removed.
    @discardableResult
    public func removeUnfinishedFiles() -> [String] {
        guard let dir = opendir(directory) else { return [] }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix("checkpoint-"), let marker = name.range(of: ".drc.tmp-"),
                  let pid = pid_t(name[marker.upperBound...])
            else { continue }
            if pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) { stale.append("\(directory)/\(name)") }
        }
        closedir(dir)
        return stale.filter { unlink($0) == 0 }
    }

    /// The newest checkpoint that reads back intact, with the files that did not (and why).
    public func loadNewest() -> (checkpoint: Checkpoint?, path: String?, skipped: [String]) {
        var skipped: [String] = []
        for file in files() {
            guard let bytes = readWholeFile(file.path) else {
                skipped.append("\(file.path): unreadable")
                continue
            }
            do {
                let checkpoint = try Checkpoint(fileBytes: bytes)
                guard checkpoint.sequence == file.sequence else {
                    skipped.append("\(file.path): holds sequence \(checkpoint.sequence)")
                    continue
                }
                return (checkpoint, file.path, skipped)
            } catch {
                skipped.append("\(file.path): \(error)")
            }
        }
        return (nil, nil, skipped)
    }
}

/// A whole file's bytes, or `nil` when it cannot be read.
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return nil }
    var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return nil }
        done += n
    }
    return bytes
}

extension CheckpointStore {
    /// Makes a run's outputs durable (snapshot records, results, dead letters, alerts), then
    /// writes the checkpoint `make` builds (reading the outputs' lengths only now, once they are
    /// on disk) with the alert state added.
    ///
    /// - Returns: The size of the file written.
    func write(
        results: FileWriter?, deadLetters: DeadLetterWriter?, options: LiveRun.Options, _ make: () -> Checkpoint
    ) throws -> Int {
        try options.beforeCheckpoint?()
        try results?.sync()
        try deadLetters?.sync()
        try options.alerts?.sync()
        var checkpoint = make()
        if let alerts = options.alerts {
            var a = ByteWriter()
            alerts.encodeState(to: &a)
            checkpoint.alertState = a.bytes
            checkpoint.alertsLength = alerts.fileLength
        }
        return try write(checkpoint)
    }
}

extension LiveSummary {
    /// Exports the checkpoint counters of a run that just tried one.
    func publishCheckpoint(to metrics: PipelineMetrics?, seconds: Double) {
        guard let metrics else { return }
        metrics.set("driftline_checkpoint_duration_seconds", seconds)
        metrics.set("driftline_checkpoint_bytes", Double(lastCheckpointBytes))
        metrics.setTotal("driftline_checkpoints_total", to: Int64(checkpoints))
        metrics.setTotal("driftline_checkpoint_failures_total", to: Int64(checkpointFailures))
        metrics.setTotal("driftline_offset_commit_failures_total", to: Int64(commitFailures))
    }
}

extension Checkpoint {
    /// Brings a resumed run's outputs back to this checkpoint: the alert state restored, the
    /// alert file and (when asked) the results file cut back to their checkpointed lengths.
    ///
    /// - Parameter path: The checkpoint file, for messages.
    /// - Returns: The results writer, continuing after the checkpointed length.
    static func resumeOutputs(_ checkpoint: Checkpoint?, path: String?, options: LiveRun.Options) throws -> FileWriter? {
        if let checkpoint, let alerts = options.alerts, !checkpoint.alertState.isEmpty {
            var r = ByteReader(checkpoint.alertState)
            do { try alerts.restoreState(from: &r) } catch { throw FormatError("\(path ?? "checkpoint"): alert state: \(error)") }
        }
        let results = try options.resultsPath.map { resultsPath in
            if let length = checkpoint?.resultsLength { return try FileWriter(path: resultsPath, resumingAt: length) }
            return try FileWriter(path: resultsPath)
        }
        try options.alerts?.start(resumingFileAt: checkpoint?.alertsLength)
        return results
    }
}

extension LiveSummary {
    /// Takes the window counters of a checkpoint (written under these names by every role).
    mutating func restoreWindowCounters(_ counters: [String: Int64]) {
        windowsClosed = Int(counters["windows"] ?? 0)
        driftedWindows = Int(counters["drifted_windows"] ?? 0)
        resultRecords = Int(counters["result_records"] ?? 0)
    }
}
