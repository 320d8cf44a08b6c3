#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value guarded by a mutex, with a condition variable to sleep until it changes or a
/// time comes.
///
/// `Synchronization.Mutex` has no condition variable, and the webhook delivery thread
/// must sleep until alerts arrive, a backoff ends or the sink is closed, whichever comes
/// first. The corresponding C functions are `pthread_mutex_lock`, `pthread_cond_wait`
/// and `pthread_cond_timedwait` (on `CLOCK_MONOTONIC`, so a wall-clock step does not
/// stretch or cut a wait).
///
/// `@unchecked Sendable`: `state` is only read or written between `pthread_mutex_lock`
/// and `pthread_mutex_unlock` in ``withLock(_:)`` and ``withLock(sleepingUntil:_:)``; the
/// mutex and condition are allocated once and freed in `deinit`.
final class ConditionLock<State>: @unchecked Sendable {
    /// When a caller of ``withLock(sleepingUntil:_:)`` wants to go on.
    enum Wake {
        /// Go on at once.
        case now
        /// Sleep until this time or until a ``broadcast()`` makes the condition say otherwise.
        case at(ContinuousClock.Instant)
        /// Sleep until a ``broadcast()`` makes the condition say otherwise.
        case onBroadcast
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var state: State

    init(_ state: State) {
        self.state = state
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the state locked.
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Sleeps (unlocked) until `wake` says to go on, then runs `body` with the state locked.
    ///
    /// `wake` is asked again, locked, after every wake-up, so a ``broadcast()`` that
    /// brings the time forward (a close) is seen at once.
    func withLock<R>(sleepingUntil wake: (State) -> Wake, _ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        waiting: while true {
            switch wake(state) {
            case .now:
                break waiting
            case .onBroadcast:
                pthread_cond_wait(condition, mutex)
            case .at(let instant):
                let remaining = ContinuousClock.now.duration(to: instant)
                if remaining <= .zero { break waiting }
                var until = timespec()
                clock_gettime(CLOCK_MONOTONIC, &until)
                let (seconds, attoseconds) = remaining.components
                let nanoseconds = Int(until.tv_nsec) + Int(attoseconds / 1_000_000_000)
                until.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
                until.tv_nsec = nanoseconds % 1_000_000_000
                pthread_cond_timedwait(condition, mutex, &until)
            }
        }
        return try body(&state)
    }

    /// Wakes every thread sleeping in ``withLock(sleepingUntil:_:)`` to ask its `wake` again.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
