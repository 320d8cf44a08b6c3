#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Runs `body` on a new detached POSIX thread (readers, listeners, the webhook sender: work
/// that blocks in system calls and must not occupy the Swift concurrency pool).
func spawnDetachedThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        // Safe: the closure is handed to exactly one new thread and never shared.
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let created = pthread_create(&thread, nil, { raw in
        Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, box)
    precondition(created == 0, "pthread_create failed: \(created)")
    pthread_detach(thread)
}

/// A listening TCP socket on an IPv4 address (`port` 0: the kernel picks one).
///
/// - Returns: The socket and the port it listens on.
/// - Throws: ``FileError`` with the system's reason.
func listenTCP(host: String, port: Int, backlog: Int32) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw FileError("cannot create a socket: \(String(cString: strerror(errno)))") }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
        close(fd)
        throw FileError("cannot listen on \(host):\(port): not an IPv4 address")
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, backlog) == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw FileError("cannot listen on \(host):\(port): \(reason)")
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: actual.sin_port)))
}

/// A listening TCP socket whose accept loop runs on a thread of its own and hands every
/// connection to `handle` (which owns the descriptor), until ``stop()``.
final class TCPAcceptor: Sendable {
    /// The port it listens on (the kernel's choice when 0 was asked).
    let port: Int
    let listener: Int32
    let stopped = Atomic<Bool>(false)

    init(host: String, port: Int, backlog: Int32, handle: @escaping @Sendable (Int32) -> Void) throws {
        (listener, self.port) = try listenTCP(host: host, port: port, backlog: backlog)
        spawnDetachedThread { [self] in acceptLoop(handle) }
    }

    /// Stops accepting; connections already handed out go on.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    func acceptLoop(_ handle: @Sendable (Int32) -> Void) {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(client)
        }
    }
}
