#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One HTTP/1.1 `POST` over a blocking-in-time, non-blocking-socket POSIX connection:
/// connect, send the request, read the status of the answer, close.
///
/// Plain `http://` only: TLS is not supported because Driftline has no TLS library in
/// its dependency budget (see ``HTTPEndpoint``). Each request opens its own connection
/// and asks the server to close it (`Connection: close`): alerts are sent seldom and in
/// batches, so keeping connections alive is not worth the state.
///
/// The socket is non-blocking and every wait goes through `poll` against a deadline the
/// caller may bring forward while waiting (asked at least every 100 ms), so a request
/// never outlives the caller's timeout or a close. The exception is name resolution:
/// `getaddrinfo` cannot be interrupted, so a hung DNS server can hold a request past
/// its deadline (an IP address in the URL resolves without any lookup).
struct HTTPPost: Sendable {
    /// An answer's status line, and the start of its body when it is not a success.
    struct Answer: Sendable, Equatable {
        var status: Int
        /// The reason phrase, printable ASCII only.
        var reason: String
        /// Up to ``HTTPPost/bodyExcerptBytes`` of the body of a non-2xx answer with a
        /// `Content-Length`, made printable; empty otherwise.
        var bodyExcerpt: String
    }

    /// Why no answer came back: the system's reason, or which step timed out.
    struct Failure: Error, Sendable, Equatable {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// How much of an error answer's body is read for the log.
    static let bodyExcerptBytes = 512
    /// An answer's status line and headers may not be longer than this.
    static let maximumHeadBytes = 64 << 10

    let endpoint: HTTPEndpoint
    /// Request line, headers and body, ready to write.
    let request: [UInt8]

    /// Prepares `POST endpoint.target` with `headers` (besides `Host`, `Content-Length`
    /// and `Connection`, which it writes itself).
    init(to endpoint: HTTPEndpoint, headers: [(name: String, value: String)], body: [UInt8]) {
        var head = "POST \(endpoint.target) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        self.endpoint = endpoint
        self.request = Array(head.utf8) + body
    }

    /// Sends the request and reads the answer's status.
    ///
    /// - Parameter deadline: When to give up; asked again before and during every wait.
    /// - Returns: The answer, whatever its status, or why none came.
    func perform(deadline: () -> ContinuousClock.Instant) -> Result<Answer, Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var addresses: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &addresses)
        guard resolved == 0, let addresses else {
            let reason = resolved == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(resolved))
            return .failure(Failure("cannot resolve \(endpoint.host): \(reason)"))
        }
        defer { freeaddrinfo(addresses) }

        // Try each address in turn (IPv6 and IPv4 of one name) until one accepts.
        var failure = Failure("no address for \(endpoint.host)")
        var next: UnsafeMutablePointer<addrinfo>? = addresses
        while let address = next {
            next = address.pointee.ai_next
            switch HTTPPost.connect(to: address.pointee, deadline: deadline) {
            case .failure(let why):
                failure = why
                if ContinuousClock.now >= deadline() { return .failure(why) }
            case .success(let socket):
                defer { Glibc.close(socket) }
                // Once connected, do not try another address: the request may have arrived.
                return exchange(on: socket, deadline: deadline)
            }
        }
        return .failure(failure)
    }

    /// Opens a non-blocking socket to `address` and waits for the connection.
    static func connect(to address: addrinfo, deadline: () -> ContinuousClock.Instant) -> Result<Int32, Failure> {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socket = Glibc.socket(address.ai_family, type, address.ai_protocol)
        guard socket >= 0 else { return .failure(Failure("cannot create a socket: \(String(cString: strerror(errno)))")) }
        var started: Int32
        repeat {
            started = Glibc.connect(socket, address.ai_addr, address.ai_addrlen)
        } while started != 0 && errno == EINTR
        if started != 0 {
            guard errno == EINPROGRESS else {
                let reason = String(cString: strerror(errno))
                Glibc.close(socket)
                return .failure(Failure("cannot connect: \(reason)"))
            }
            if let failure = wait(for: socket, events: POLLOUT, deadline: deadline, doing: "connecting") {
                Glibc.close(socket)
                return .failure(failure)
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                Glibc.close(socket)
                return .failure(Failure("cannot connect: \(String(cString: strerror(error)))"))
            }
        }
        return .success(socket)
    }

    /// Writes the request on a connected socket and reads the answer.
    func exchange(on socket: Int32, deadline: () -> ContinuousClock.Instant) -> Result<Answer, Failure> {
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if let failure = HTTPPost.wait(for: socket, events: POLLOUT, deadline: deadline, doing: "sending the request") {
                    return .failure(failure)
                }
            } else if !(n < 0 && errno == EINTR) {
                return .failure(Failure("cannot send the request: \(String(cString: strerror(errno)))"))
            }
        }

        var received: [UInt8] = []
        var headStart = 0
        while true {
            if let headEnd = HTTPPost.endOfHead(in: received, from: headStart) {
                guard var answer = HTTPPost.statusLine(received[headStart..<headEnd]) else {
                    return .failure(Failure("the answer is not HTTP: \(HTTPPost.printable(received[headStart...].prefix(60), limit: 60).debugDescription)"))
                }
                let bodyStart = headEnd + 4
                // Interim answers (100 Continue, 103 Early Hints) come before the real one.
                if (100...199).contains(answer.status) && answer.status != 101 {
                    headStart = bodyStart
                    continue
                }
                if !(200...299).contains(answer.status),
                   let length = HTTPPost.contentLength(received[headStart..<headEnd]) {
                    let wanted = min(length, HTTPPost.bodyExcerptBytes)
                    while received.count - bodyStart < wanted {
                        // The status is what matters; a body that does not come in time is left out.
                        if case .failure = receive(on: socket, into: &received, deadline: deadline) { break }
                    }
                    answer.bodyExcerpt = HTTPPost.printable(received[bodyStart...].prefix(wanted), limit: HTTPPost.bodyExcerptBytes)
                }
                return .success(answer)
            }
            if received.count - headStart > HTTPPost.maximumHeadBytes {
                return .failure(Failure("the answer's headers are longer than \(HTTPPost.maximumHeadBytes) bytes"))
            }
            if case .failure(let failure) = receive(on: socket, into: &received, deadline: deadline) {
                return .failure(failure)
            }
        }
    }

    /// Appends what the socket has (waiting for something); fails at the end of the stream.
    func receive(on socket: Int32, into received: inout [UInt8], deadline: () -> ContinuousClock.Instant) -> Result<Void, Failure> {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += chunk[..<n]
                return .success(())
            }
            if n == 0 { return .failure(Failure("the connection was closed before a complete answer")) }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                if let failure = HTTPPost.wait(for: socket, events: POLLIN, deadline: deadline, doing: "waiting for the answer") {
                    return .failure(failure)
                }
            } else if errno != EINTR {
                return .failure(Failure("cannot read the answer: \(String(cString: strerror(errno)))"))
            }
        }
    }

    /// Waits until `socket` is ready for `events` (or has an error the next call reports).
    ///
    /// - Returns: `nil` when ready; a "timed out `doing`" failure once `deadline()` passes.
    static func wait(for socket: Int32, events: Int32, deadline: () -> ContinuousClock.Instant, doing: String) -> Failure? {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline())
            if remaining <= .zero { return Failure("timed out \(doing)") }
            // At most 100 ms per poll, so a deadline brought forward (a close) is seen soon.
            let slice = min(remaining, .milliseconds(100))
            let milliseconds = Int32(slice.components.seconds * 1000 + (slice.components.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var descriptor = pollfd(fd: socket, events: Int16(events), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return nil }
            if ready < 0 && errno != EINTR { return Failure("poll failed \(doing): \(String(cString: strerror(errno)))") }
        }
    }

    /// Where the blank line ending the head that starts at `start` is (its CR LF CR LF).
    static func endOfHead(in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count - start >= 4 else { return nil }
        for i in start...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// The status and reason of `HTTP/1.x SSS reason`, the head's first line.
    static func statusLine(_ head: ArraySlice<UInt8>) -> Answer? {
        let lineEnd = head.firstIndex(of: 13) ?? head.endIndex
        let line = String(decoding: head[..<lineEnd], as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
              parts[1].allSatisfy(\.isASCIIDigitCharacter), let status = Int(parts[1]) else { return nil }
        let reason = parts.count == 3 ? printable(parts[2].utf8, limit: 80) : ""
        return Answer(status: status, reason: reason, bodyExcerpt: "")
    }

    /// The `Content-Length` of a head, when it has one and no chunked transfer coding.
    static func contentLength(_ head: ArraySlice<UInt8>) -> Int? {
        var length: Int?
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            if name == "transfer-encoding" { return nil }
            if name == "content-length" {
                length = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            }
        }
        return length.flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Text from the network made fit for one log line: UTF-8 (invalid bytes replaced),
    /// control characters and runs of white space as one space, at most `limit` characters.
    static func printable(_ bytes: some Sequence<UInt8>, limit: Int) -> String {
        var text = ""
        var characters = 0
        var lastWasSpace = true
        for scalar in String(decoding: Array(bytes), as: UTF8.self).unicodeScalars {
            let isSpace = scalar.value < 0x20 || scalar.value == 0x7F || scalar == " "
            if isSpace {
                if !lastWasSpace {
                    text += " "
                    characters += 1
                }
            } else {
                text.unicodeScalars.append(scalar)
                characters += 1
            }
            lastWasSpace = isSpace
            if characters >= limit {
                text += "…"
                break
            }
        }
        while text.last == " " { text.removeLast() }
        return text
    }
}
