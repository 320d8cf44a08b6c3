#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGINT and SIGTERM ask a long-running command to finish cleanly (final checkpoint, offsets
/// committed); a second signal exits at once.
enum StopSignal {
    static let received = Atomic<Int>(0)

    static var requested: Bool { received.load(ordering: .relaxed) > 0 }

    static func install() {
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                if StopSignal.received.add(1, ordering: .relaxed).newValue > 1 { _exit(130) }
            }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}
