#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftStats

/// Reads the snapshots ``SnapshotWriter`` wrote.
public enum SnapshotReader {
    /// The snapshots in a snapshot directory (its day directories included) or in one file,
    /// whose window end lies in `[from, to]` (either bound `nil`: open), sorted by window end,
    /// then model, then start.
    ///
    /// Every file is read whole and checked (magic, version, both checksums, length, payload
    /// shape) before anything of it is used: a file that fails — empty, truncated, corrupt, of
    /// a newer major version, not a snapshot — is left out and listed in `skipped` as
    /// `"<path>: <reason>"`, and the others still load. In a directory only `*.drs` files are
    /// read (temporary files of writes in progress are not).
    public static func read(
        _ path: String, from: EpochMicroseconds? = nil, to: EpochMicroseconds? = nil
    ) -> (snapshots: [WindowSnapshot], skipped: [String]) {
        var snapshots: [WindowSnapshot] = []
        var skipped: [String] = []
        func wanted(end: EpochMicroseconds) -> Bool {
            (from.map { end >= $0 } ?? true) && (to.map { end <= $0 } ?? true)
        }
        func load(_ file: String) {
            guard let bytes = readWholeFile(file) else {
                skipped.append("\(file): cannot be read")
                return
            }
            do {
                let s = try WindowSnapshot(fileBytes: bytes)
                if wanted(end: s.end) { snapshots.append(s) }
            } catch {
                skipped.append("\(file): \(error)")
            }
        }
        var st = stat()
        guard stat(path, &st) == 0 else {
            return ([], ["\(path): \(String(cString: strerror(errno)))"])
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            load(path)
        } else {
            for entry in entries(of: path) {
                let full = path.hasSuffix("/") ? path + entry.name : path + "/" + entry.name
                if entry.isDirectory {
                    // Day directories hold windows that start on that day, so end after it starts.
                    if let dayStart = SnapshotFileName.parseDay(entry.name), let to, dayStart > to { continue }
                    for inner in entries(of: full) where !inner.isDirectory && inner.name.hasSuffix(SnapshotFileName.fileExtension) {
                        if let w = SnapshotFileName.window(ofFileName: inner.name), !wanted(end: w.end) { continue }
                        load(full + "/" + inner.name)
                    }
                } else if entry.name.hasSuffix(SnapshotFileName.fileExtension) {
                    load(full)
                }
            }
        }
        snapshots.sort { a, b in
            if a.end != b.end { return a.end < b.end }
            if a.model != b.model { return a.model < b.model }
            return a.start < b.start
        }
        return (snapshots, skipped.sorted())
    }

    /// Names in a directory (without `.` and `..`), sorted.
    static func entries(of directory: String) -> [(name: String, isDirectory: Bool)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var found: [(String, Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            var st = stat()
            let isDirectory = stat(directory + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            found.append((name, isDirectory))
        }
        return found.sorted { $0.0 < $1.0 }
    }
}
