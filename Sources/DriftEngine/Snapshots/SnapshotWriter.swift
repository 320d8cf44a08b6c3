#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftStats

/// Writes a ``WindowSnapshot`` of every closed window into a snapshot directory: one file
/// per window (see ``SnapshotFileName`` for the layout), each a zstd ``FileContainer`` of
/// kind snapshot.
///
/// One file per window, written whole to a temporary file, fsynced and renamed into place
/// (then its directory fsynced), means a reader never sees part of a window, a crash loses
/// at most the window being written, and a live run that recomputes windows after restoring
/// a checkpoint replaces their files with identical ones instead of duplicating them.
/// Directories are created 0700 and files 0600: snapshots hold aggregates of production data.
public final class SnapshotWriter {
    public let directory: String
    let encoder: SnapshotEncoder
    var knownDays: Set<String> = []
    var closed = false
    /// Snapshot files written.
    public private(set) var written = 0

    /// - Parameters:
    ///   - profile: The reference the windows are compared with; the config's `schema`
    ///     gives the order of the window summaries.
    /// - Throws: ``ProfileMismatch`` when the profile lacks a feature of the schema,
    ///   ``FileError`` when the directory cannot be created.
    public convenience init(directory: String, profile: ReferenceProfile, schema: EventSchema) throws {
        try self.init(directory: directory, encoder: SnapshotEncoder(profile: profile, schema: schema))
    }

    /// For the commands: a writer for a config's windows, or a one-line reason why there is none.
    public convenience init(directory: String, config: DriftlineConfig, profile: ReferenceProfile?) throws {
        try self.init(directory: directory, encoder: SnapshotEncoder(config: config, profile: profile))
    }

    /// - Throws: ``FileError`` when the directory cannot be created.
    public init(directory: String, encoder: SnapshotEncoder) throws {
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.directory = dir
        self.encoder = encoder
        try Self.makeDirectory(dir)
    }

    /// An `onWindow` hook that runs `previous` (if any), then writes the window.
    public func hook(after previous: ((ClosedWindow) throws -> Void)?) -> (ClosedWindow) throws -> Void {
        { window in
            try previous?(window)
            try self.write(window)
        }
    }

    /// The snapshot of a closed window.
    public func snapshot(of window: ClosedWindow) -> WindowSnapshot {
        encoder.snapshot(of: window)
    }

    /// Makes the window's snapshot durable.
    ///
    /// - Returns: The path of the file written.
    /// - Throws: ``FileError`` when it cannot be written; no partial file is left visible.
    @discardableResult
    public func write(_ window: ClosedWindow) throws -> String {
        guard !closed else { throw FileError("snapshot writer for \(directory) is closed") }
        let bytes = try encoder.fileBytes(of: window)
        let (day, name) = SnapshotFileName.relativePath(model: window.model, start: window.start, end: window.end)
        let dayPath = directory + "/" + day
        if !knownDays.contains(day) {
            try Self.makeDirectory(dayPath)
            knownDays.insert(day)
        }
        let path = dayPath + "/" + name
        let file = try FileWriter(path: path, atomic: true, mode: 0o600)
        try file.write(bytes)
        try file.close()
        Self.syncDirectory(dayPath)
        written += 1
        return path
    }

    /// Ends writing. Every ``write(_:)`` is durable when it returns, so this only refuses later writes.
    public func close() throws {
        closed = true
    }

    /// Creates a directory (and its missing parents) with mode 0700; an existing one is kept as it is.
    static func makeDirectory(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw FileError("snapshot directory \(path) is not a directory") }
            return
        }
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty && parent != path { try makeDirectory(parent) }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw FileError.errno("cannot create snapshot directory", path) }
        // The new entry is durable only once its parent is synced.
        syncDirectory(parent.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : parent)
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        Glibc.close(fd)
    }
}
