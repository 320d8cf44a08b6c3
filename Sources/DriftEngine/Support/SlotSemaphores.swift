#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The hand-over of a ring of slots between one producing thread and one consumer
/// (``ReadAhead``, the reading thread of a recording): one semaphore counts the slots the
/// producer may fill, the other the slots filled for the consumer, and `stop` lets the
/// producer end when the consumer has gone. The slots themselves stay with their owner;
/// each is touched by one side at a time, as these semaphores hand it over.
final class SlotSemaphores: @unchecked Sendable {
    /// Owned; freed in `deinit`.
    let free: UnsafeMutablePointer<sem_t>
    let filled: UnsafeMutablePointer<sem_t>
    let stopped = Atomic<Bool>(false)

    init(slots: Int) {
        free = .allocate(capacity: 1)
        filled = .allocate(capacity: 1)
        sem_init(free, 0, UInt32(slots))
        sem_init(filled, 0, 0)
    }

    deinit {
        sem_destroy(free)
        sem_destroy(filled)
        free.deallocate()
        filled.deallocate()
    }

    /// Producer: takes a free slot if there is one, without waiting.
    func tryAcquireFree() -> Bool { sem_trywait(free) == 0 }

    /// Producer: waits for a free slot.
    ///
    /// - Returns: `false` once the consumer has stopped.
    func acquireFree() -> Bool {
        Self.wait(free)
        return !stopped.load(ordering: .acquiring)
    }

    /// Producer: the slot it filled goes to the consumer.
    func publish() { sem_post(filled) }

    /// Consumer: waits for a filled slot.
    ///
    /// - Returns: Whether it had to wait (none was ready).
    @discardableResult
    func acquireFilled() -> Bool {
        if sem_trywait(filled) == 0 { return false }
        Self.wait(filled)
        return true
    }

    /// Consumer: gives a slot back to the producer.
    func release() { sem_post(free) }

    /// Consumer: lets the producer end at its next slot.
    func stop() {
        stopped.store(true, ordering: .releasing)
        sem_post(free)
    }

    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// The corresponding C function is `sem_wait`, retried when a signal interrupts it.
    static func wait(_ semaphore: UnsafeMutablePointer<sem_t>) {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
    }
}
