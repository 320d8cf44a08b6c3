#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGINT and SIGTERM ask a long-running command to finish cleanly (final checkpoint, offsets
/// committed); a second signal exits at once.
enum StopSignal {
    static let received = Atomic<Int>(0)

    static var requested: Bool { received.load(ordering: .relaxed) > 0 }

    /// Installs the handler and unblocks both signals: a process inherits its parent's signal
    /// mask, and a parent that spawns from a thread with them blocked (a libdispatch worker,
    /// say) would leave SIGTERM pending forever. Threads started afterwards inherit the mask.
    static func install() {
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                if StopSignal.received.add(1, ordering: .relaxed).newValue > 1 { _exit(130) }
            }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
            sigaddset(&unblock, signal)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }
}
