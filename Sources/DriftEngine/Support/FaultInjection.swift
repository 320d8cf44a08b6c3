#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A test hook: kills the process with SIGKILL at a named moment of the checkpoint protocol,
/// so crash tests hit the moments a random delay rarely does.
///
/// Set `DRIFTLINE_FAULT_KILL=POINT:N` in the environment of `driftline run` to raise SIGKILL
/// the `N`th time (counted from 1, per process) the run reaches `POINT`:
/// - `checkpoint-write`: the checkpoint's temporary file is written and fsynced, not renamed;
/// - `checkpoint-renamed`: renamed into place, the directory not fsynced, no offset committed;
/// - `commit-before`: the checkpoint is durable, the offset commit not sent;
/// - `commit-after`: the offset commit has returned.
///
/// Not for production use. When the variable is unset (or malformed) every ``reached(_:)`` is
/// one load of a constant and a branch; it is called once per checkpoint, never per event.
enum FaultInjection {
    enum Point: String, CaseIterable {
        case checkpointWrite = "checkpoint-write"
        case checkpointRenamed = "checkpoint-renamed"
        case commitBefore = "commit-before"
        case commitAfter = "commit-after"
    }

    static let environmentVariable = "DRIFTLINE_FAULT_KILL"

    /// The point and count asked for, read once.
    static let kill: (point: Point, count: Int)? = getenv(environmentVariable).flatMap { parse(String(cString: $0)) }
    static let reachedCount = Atomic<Int>(0)

    static func parse(_ text: String) -> (point: Point, count: Int)? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let point = Point(rawValue: String(parts[0])), let count = Int(parts[1]), count >= 1 else {
            return nil
        }
        return (point, count)
    }

    /// Marks that the run is at `point`; SIGKILLs the process when the hook asks for it.
    @inline(__always)
    static func reached(_ point: Point) {
        guard let kill, kill.point == point else { return }
        if reachedCount.add(1, ordering: .relaxed).newValue == kill.count { raise(SIGKILL) }
    }
}
