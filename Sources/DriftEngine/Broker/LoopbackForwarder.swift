#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Relays TCP connections from a port on 127.0.0.1 to another loopback port.
///
/// librdkafka 2.0.2's mock brokers listen on ports the kernel picks; `driftline
/// broker --port P` puts this forwarder on P in front of broker 1, so clients can
/// bootstrap from a fixed address. After bootstrap, clients connect to the brokers'
/// own advertised ports directly (all on loopback).
///
/// Each connection gets two threads copying bytes in each direction with blocking
/// sockets; the listener is closed by ``stop()``. Loopback only, by construction.
public final class LoopbackForwarder: Sendable {
    /// The port it listens on.
    public var port: Int { acceptor.port }
    let acceptor: TCPAcceptor

    /// Starts listening on 127.0.0.1:`port` (0: any free port) and relays to 127.0.0.1:`targetPort`.
    ///
    /// - Throws: ``FileError`` with the system's reason when the port cannot be bound.
    public init(port: Int, targetPort: Int) throws {
        acceptor = try TCPAcceptor(host: "127.0.0.1", port: port, backlog: 64) { client in
            LoopbackForwarder.relay(client, to: targetPort)
        }
    }

    static func loopback(port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return a
    }

    /// Stops accepting connections (open relays end when either side closes).
    public func stop() {
        acceptor.stop()
    }

    /// Connects to the target and starts the two pumps of one connection.
    static func relay(_ client: Int32, to targetPort: Int) {
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = LoopbackForwarder.loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard upstream >= 0, connected == 0 else {
            if upstream >= 0 { close(upstream) }
            close(client)
            return
        }
        let pair = Connection(client, upstream)
        spawnDetachedThread { LoopbackForwarder.pump(from: client, to: upstream, pair) }
        spawnDetachedThread { LoopbackForwarder.pump(from: upstream, to: client, pair) }
    }

    /// The two sockets of one relayed connection; the second pump to end closes both.
    final class Connection: Sendable {
        let a: Int32, b: Int32
        let running = Atomic<Int>(2)
        init(_ a: Int32, _ b: Int32) {
            self.a = a
            self.b = b
        }

        func pumpEnded() {
            if running.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                close(a)
                close(b)
            }
        }
    }

    /// Copies bytes until either side closes, then half-closes the other side.
    static func pump(from source: Int32, to sink: Int32, _ connection: Connection) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        outer: while true {
            let n = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let m = buffer.withUnsafeBytes { send(sink, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                if m < 0 && errno == EINTR { continue }
                if m <= 0 { break outer }
                sent += m
            }
        }
        // Half-close so the peer pump ends too; the second pump to end closes both.
        shutdown(sink, Int32(SHUT_WR))
        shutdown(source, Int32(SHUT_RD))
        connection.pumpEnded()
    }

}
