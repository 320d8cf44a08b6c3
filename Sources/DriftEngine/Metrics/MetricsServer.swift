#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A small HTTP/1.1 server for Prometheus scrapes: `GET /metrics` (text format 0.0.4),
/// `/healthz` (200 while the process runs) and `/readyz` (200 once the pipeline is ready,
/// 503 before). One request per connection, answered on the accept thread; anything else is
/// 404 (unknown path) or 405 (not GET).
///
/// It binds the address it is given; `--metrics-listen` defaults to 127.0.0.1, so exposing
/// metrics beyond the machine is an explicit choice.
public final class MetricsServer: Sendable {
    public let host: String
    /// The port it listens on (the kernel's choice when 0 was asked).
    public var port: Int { acceptor.port }
    let acceptor: TCPAcceptor

    /// Parses `HOST:PORT` (an IPv4 address or `localhost`).
    public static func parse(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return nil }
        return (host, port)
    }

    /// Starts serving on `address` (`HOST:PORT`).
    ///
    /// - Throws: ``ConfigError`` for an address it cannot parse, ``FileError`` when the port
    ///   cannot be bound.
    public init(address: String, metrics: PipelineMetrics) throws {
        guard let (host, port) = Self.parse(address) else {
            throw ConfigError("--metrics-listen: expected IPV4:PORT such as 127.0.0.1:9464, not \(address)")
        }
        self.host = host
        // One request per connection, answered on the accept thread.
        acceptor = try TCPAcceptor(host: host, port: port, backlog: 16) { client in
            MetricsServer.serve(client, metrics)
            close(client)
        }
    }

    public func stop() {
        acceptor.stop()
    }

    static func serve(_ fd: Int32, _ metrics: PipelineMetrics) {
        // A slow or silent client must not hold the scrape thread.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while request.count < 16 << 10 && !request.containsHeaderEnd {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            request.append(contentsOf: chunk[0..<n])
        }
        let line = request.prefix { $0 != 0x0D && $0 != 0x0A }
        let parts = line.split(separator: 0x20)
        let method = parts.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        var path = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
        if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
        let (status, contentType, body): (String, String, String)
        if method != "GET" && method != "HEAD" {
            (status, contentType, body) = ("405 Method Not Allowed", "text/plain", "GET only\n")
        } else {
            switch path {
            case "/metrics": (status, contentType, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.exposition())
            case "/healthz": (status, contentType, body) = ("200 OK", "text/plain", "ok\n")
            case "/readyz":
                (status, contentType, body) = metrics.isReady
                    ? ("200 OK", "text/plain", "ready\n") : ("503 Service Unavailable", "text/plain", "starting\n")
            default: (status, contentType, body) = ("404 Not Found", "text/plain", "not found\n")
            }
        }
        var response = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        if method != "HEAD" { response += body }
        var bytes = Array(response.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
    }
}

extension [UInt8] {
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 0x0D && self[i + 1] == 0x0A && self[i + 2] == 0x0D && self[i + 3] == 0x0A {
            return true
        }
        return false
    }
}
