import DriftEngine
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The webhook sink against a real HTTP listener on 127.0.0.1 (``AlertReceiver``).
///
/// Each test waits for the sink with ``WebhookSink/close(timeout:)``, which returns as soon
/// as the queue is empty; its timeout is only a bound on a broken run. Backoffs are a few
/// milliseconds so retries are quick.
@Suite struct WebhookSinkTests {
    static let firing = AlertNotice(
        labels: ["alertname": "FeaturePSI", "model": "fraud \"v2\"", "feature": "features.amount", "severity": "warning"],
        annotations: ["summary": "PSI 0.31 ≥ 0.2\nsecond line\ttab \\ backslash \u{1} control", "value": "0.31"],
        startsAt: "2024-05-01T12:05:00.000Z",
        generatorURL: "http://driftline.local/windows?model=fraud&feature=features.amount"
    )
    static let resolved = AlertNotice(
        labels: ["alertname": "FeaturePSI", "model": "fraud", "feature": "features.country"],
        annotations: [:],
        startsAt: "2024-05-01T12:05:00.000Z",
        endsAt: "2024-05-01T12:15:00.000Z"
    )

    /// Sends `count` alerts through a sink made with `options`, closes it (waiting up to 30 s)
    /// and returns its counters and the lines it reported drops with.
    static func deliver(_ count: Int, with options: WebhookSink.Options) throws -> (counters: WebhookSink.Counters, drops: [String]) {
        let drops = DropLog()
        let sink = try WebhookSink(options)
        sink.onDrop = { drops.append($0) }
        sink.send(alerts(count))
        sink.close(timeout: .seconds(30))
        return (sink.counters, drops.lines)
    }

    static func options(port: Int) -> WebhookSink.Options {
        var options = WebhookSink.Options(url: "http://127.0.0.1:\(port)/api/v2/alerts")
        options.timeout = .seconds(5)
        options.initialBackoff = .milliseconds(5)
        options.maxBackoff = .milliseconds(20)
        return options
    }

    static func alerts(_ count: Int) -> [AlertNotice] {
        (0..<count).map { AlertNotice(labels: ["alertname": "Test", "n": String($0)], startsAt: "2024-05-01T12:00:00Z") }
    }

    /// An environment variable name no other test (or process) uses.
    static func uniqueVariable(_ purpose: String) -> String {
        "DRIFTLINE_WEBHOOK_TEST_\(purpose)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
    }

    @Test func postsAlertsAsAnAlertmanagerJSONArrayWithTheBearerToken() throws {
        let receiver = try AlertReceiver()
        defer { receiver.stop() }
        let variable = Self.uniqueVariable("TOKEN")
        let token = "tok-\(UInt64.random(in: 0...UInt64.max))"
        setenv(variable, token, 1)
        defer { unsetenv(variable) }
        var options = Self.options(port: receiver.port)
        options.bearerTokenEnvironment = variable

        let sink = try WebhookSink(options)
        sink.send([Self.firing, Self.resolved])
        sink.close(timeout: .seconds(30))

        #expect(sink.counters == WebhookSink.Counters(delivered: 2))
        let requests = receiver.received
        try #require(requests.count == 1)
        let request = requests[0]
        #expect(request.line == "POST /api/v2/alerts HTTP/1.1")
        #expect(request.headers["host"] == "127.0.0.1:\(receiver.port)")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["content-length"] == String(request.body.count))
        #expect(request.headers["authorization"] == "Bearer \(token)")

        let array = try #require(try JSONSerialization.jsonObject(with: request.body) as? [[String: Any]])
        try #require(array.count == 2)
        let (first, second) = (array[0], array[1])
        #expect(first["labels"] as? [String: String] == Self.firing.labels)
        #expect(first["annotations"] as? [String: String] == Self.firing.annotations)
        #expect(first["startsAt"] as? String == Self.firing.startsAt)
        #expect(first["endsAt"] == nil)
        #expect(first["generatorURL"] as? String == Self.firing.generatorURL)
        #expect(second["labels"] as? [String: String] == Self.resolved.labels)
        #expect(second["annotations"] as? [String: String] == [:])
        #expect(second["startsAt"] as? String == Self.resolved.startsAt)
        #expect(second["endsAt"] as? String == Self.resolved.endsAt)
        #expect(second["generatorURL"] == nil)
    }

    @Test func retriesServerErrorsUntilTheReceiverTakesTheBatch() throws {
        let receiver = try AlertReceiver(answers: [.init(500), .init(500), .init(200)])
        defer { receiver.stop() }
        let sink = try WebhookSink(Self.options(port: receiver.port))
        sink.send(Self.alerts(3))
        sink.close(timeout: .seconds(30))

        #expect(sink.counters == WebhookSink.Counters(delivered: 3, failedAttempts: 2))
        let bodies = receiver.received.map(\.body)
        #expect(bodies.count == 3)
        #expect(Set(bodies).count == 1, "every retry posts the same batch")
    }

    @Test func dropsTheBatchAfterMaxAttemptsWhenNothingListens() throws {
        var options = Self.options(port: try AlertReceiver.closedPort())
        options.maxAttempts = 3
        let (counters, lines) = try Self.deliver(2, with: options)

        #expect(counters == WebhookSink.Counters(dropped: 2, failedAttempts: 3))
        try #require(lines.count == 1)
        #expect(lines[0].contains("dropped 2 alerts after 3 failed attempts"))
        #expect(lines[0].lowercased().contains("refused"))
    }

    @Test func sendReturnsAtOnceWhileASlowReceiverFillsTheQueue() throws {
        // The receiver takes 2 s per request, and the sink's timeout is longer than that:
        // a send that waited for even one answer would make the loop last 2 s.
        let receiver = try AlertReceiver(delay: .seconds(2))
        defer { receiver.stop() }
        var options = Self.options(port: receiver.port)
        options.timeout = .seconds(30)
        options.queueCapacity = 20
        let drops = DropLog()
        let sink = try WebhookSink(options)
        sink.onDrop = { drops.append($0) }

        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for alert in Self.alerts(100) { sink.send([alert]) }
        }
        let counters = sink.counters
        #expect(counters.queued <= 20)
        #expect(counters.dropped >= 80)
        #expect(counters.delivered + counters.dropped + counters.queued == 100)
        #expect(elapsed < .seconds(2))
        #expect(drops.lines.contains { $0.contains("queue full (20 alerts waiting)") })

        // Closing cuts the request in flight short and drops what is left.
        sink.close(timeout: .milliseconds(100))
        let closed = sink.counters
        #expect(closed.queued == 0)
        #expect(closed.delivered + closed.dropped == 100)
        sink.send(Self.alerts(1))
        #expect(sink.counters.dropped == closed.dropped + 1, "alerts sent after close are dropped")
    }

    @Test func dropsAtOnceWhenTheReceiverRejectsTheBatch() throws {
        let receiver = try AlertReceiver(answers: [.init(400, body: #"{"code":400,"message":"labels: must not be empty"}"#)])
        defer { receiver.stop() }
        let (counters, lines) = try Self.deliver(3, with: Self.options(port: receiver.port))

        #expect(counters == WebhookSink.Counters(dropped: 3, failedAttempts: 1))
        #expect(receiver.received.count == 1)
        try #require(lines.count == 1)
        #expect(lines[0].contains("answered 400"))
        #expect(lines[0].contains("labels: must not be empty"))
        #expect(!lines[0].contains("\n"))
    }

    @Test func keepsTheTokenOutOfDropMessagesEvenWhenTheReceiverEchoesIt() throws {
        let receiver = try AlertReceiver(answers: [.init(401, body: AlertReceiver.echoAuthorization)])
        defer { receiver.stop() }
        let variable = Self.uniqueVariable("ECHOED")
        let token = "secret-\(UInt64.random(in: 0...UInt64.max))"
        setenv(variable, token, 1)
        defer { unsetenv(variable) }
        var options = Self.options(port: receiver.port)
        options.bearerTokenEnvironment = variable
        let (counters, lines) = try Self.deliver(1, with: options)

        #expect(counters == WebhookSink.Counters(dropped: 1, failedAttempts: 1))
        try #require(lines.count == 1)
        #expect(lines[0].contains("answered 401"))
        #expect(lines[0].contains("Bearer <redacted>"))
        #expect(!lines[0].contains(token))
    }

    @Test func coalescesQueuedAlertsIntoBatchesOfAtMostMaxBatchSize() throws {
        let receiver = try AlertReceiver()
        defer { receiver.stop() }
        var options = Self.options(port: receiver.port)
        options.maxBatchSize = 2
        let sink = try WebhookSink(options)
        sink.send(Self.alerts(5))
        sink.close(timeout: .seconds(30))

        #expect(sink.counters == WebhookSink.Counters(delivered: 5))
        let requests = receiver.received
        let sizes = try requests.map { try #require(try JSONSerialization.jsonObject(with: $0.body) as? [Any]).count }
        #expect(sizes == [2, 2, 1])
        #expect(requests.allSatisfy { $0.headers["authorization"] == nil })
    }

    @Test(arguments: [
        ("https://alertmanager.example:9093/api/v2/alerts", "https is not supported"),
        ("http://", "has no host"),
        ("http:///api/v2/alerts", "has no host"),
        ("http://:9093/api/v2/alerts", "has no host"),
        ("alertmanager:9093/api/v2/alerts", "is not an http:// URL"),
        ("not a url", "is not an http:// URL"),
        ("", "is not an http:// URL"),
        ("ftp://alertmanager/api", "scheme \"ftp\" is not supported"),
        ("http://alertmanager:99999/api/v2/alerts", "port \"99999\""),
        ("http://alertmanager:93a/api/v2/alerts", "port \"93a\""),
        ("http://alert manager/api/v2/alerts", "not a host name"),
        ("http://[::1/api/v2/alerts", "no closing ']'"),
        ("http://127.0.0.1:9093/api/v2/alerts now", "percent-encode"),
    ])
    func refusesAURLItCannotUse(url: String, problem: String) throws {
        let error = #expect(throws: WebhookError.self) { _ = try WebhookSink(WebhookSink.Options(url: url)) }
        let message = try #require(error).description
        #expect(message.contains(problem), "\(message)")
        #expect(!message.contains("\n"))
    }

    @Test(arguments: [
        "http://127.0.0.1:9093/api/v2/alerts",
        "http://alertmanager/api/v2/alerts",
        "http://[::1]:9093/api/v2/alerts",
        "HTTP://Alertmanager.example:9093/api/v2/alerts?tenant=a#top",
        "http://alertmanager.monitoring.svc:9093",
    ])
    func acceptsAnHTTPURLWithoutResolvingItsHost(url: String) throws {
        let sink = try WebhookSink(WebhookSink.Options(url: url))
        sink.close(timeout: .zero)
        #expect(sink.counters == WebhookSink.Counters())
    }

    @Test func refusesCredentialsInTheURLWithoutRepeatingThem() throws {
        let error = #expect(throws: WebhookError.self) {
            _ = try WebhookSink(WebhookSink.Options(url: "http://admin:hunter2@127.0.0.1:9093/api/v2/alerts"))
        }
        let message = try #require(error).description
        #expect(message.contains("credentials"))
        #expect(!message.contains("hunter2"))
    }

    @Test func refusesAnUnusableTokenVariableNamingItButNotItsValue() throws {
        var options = WebhookSink.Options(url: "http://127.0.0.1:9/api/v2/alerts")

        let unset = Self.uniqueVariable("UNSET")
        options.bearerTokenEnvironment = unset
        let missing = try #require(#expect(throws: WebhookError.self) { _ = try WebhookSink(options) })
        #expect(missing.description == "webhook token variable \(unset) is not set")

        let empty = Self.uniqueVariable("EMPTY")
        setenv(empty, " \n", 1)
        defer { unsetenv(empty) }
        options.bearerTokenEnvironment = empty
        let blank = try #require(#expect(throws: WebhookError.self) { _ = try WebhookSink(options) })
        #expect(blank.description == "webhook token variable \(empty) is empty")

        let broken = Self.uniqueVariable("TWO_LINES")
        setenv(broken, "first-half\r\nX-Injected: second-half", 1)
        defer { unsetenv(broken) }
        options.bearerTokenEnvironment = broken
        let twoLines = try #require(#expect(throws: WebhookError.self) { _ = try WebhookSink(options) })
        #expect(twoLines.description.contains(broken))
        #expect(twoLines.description.contains("line break"))
        #expect(!twoLines.description.contains("half"))

        // White space around a token (a file read with $(cat …)) is not part of it.
        let padded = Self.uniqueVariable("PADDED")
        setenv(padded, "  padded-token\n", 1)
        defer { unsetenv(padded) }
        options.bearerTokenEnvironment = padded
        let sink = try WebhookSink(options)
        sink.close(timeout: .zero)
    }

    @Test func refusesOptionsOutOfRange() throws {
        var options = WebhookSink.Options(url: "http://127.0.0.1:9/api/v2/alerts")
        options.maxAttempts = 0
        let error = try #require(#expect(throws: WebhookError.self) { _ = try WebhookSink(options) })
        #expect(error.description.contains("maxAttempts"))
    }
}

/// Drop messages collected from ``WebhookSink/onDrop``, which runs on other threads.
final class DropLog: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 (a port the kernel picks) that records every
/// request and gives scripted answers, one connection at a time, on a thread of its own.
final class AlertReceiver: Sendable {
    struct Request: Sendable {
        /// The request line, `POST /path HTTP/1.1`.
        var line: String
        /// Header names in lower case.
        var headers: [String: String]
        var body: Data
    }

    struct Answer: Sendable {
        var status: Int
        var body: String
        init(_ status: Int, body: String = "") {
            self.status = status
            self.body = body
        }
    }

    /// An answer body that is replaced by the request's `Authorization` header.
    static let echoAuthorization = "{authorization}"

    let port: Int
    private let listener: Int32
    private let delay: Duration
    /// Answers still to give, in order; the last one is repeated.
    private let answers: Mutex<[Answer]>
    private let requests = Mutex<[Request]>([])

    /// - Parameter delay: How long it waits before answering each request.
    init(answers: [Answer] = [Answer(200)], delay: Duration = .zero) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        port = try AlertReceiver.bindLoopback(fd)
        try #require(listen(fd, 16) == 0)
        listener = fd
        self.delay = delay
        self.answers = Mutex(answers)
        Thread.detachNewThread { [self] in serve() }
    }

    /// A port on 127.0.0.1 that nothing listens on: bound by the kernel's choice, then closed.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        return try bindLoopback(fd)
    }

    /// Binds `fd` to 127.0.0.1 on a port the kernel picks, and returns that port.
    static func bindLoopback(_ fd: Int32) throws -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The requests received so far.
    var received: [Request] { requests.withLock { $0 } }

    /// Stops accepting connections (`shutdown` wakes the thread blocked in `accept`).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func serve() {
        defer { close(listener) }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            // A sink that is never answered must not hang the test run.
            var limit = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        func readMore() -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n > 0 { bytes += chunk[..<n] }
            return n > 0
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            guard readMore() else { return }
            headEnd = bytes.indices.dropLast(3).first { Array(bytes[$0..<$0 + 4]) == separator }
        }
        let head = String(decoding: bytes[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bodyStart = headEnd! + 4
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while bytes.count - bodyStart < length {
            guard readMore() else { return }
        }
        requests.withLock {
            $0.append(Request(line: head[0], headers: headers, body: Data(bytes[bodyStart..<bodyStart + length])))
        }
        let reply = answers.withLock { $0.count > 1 ? $0.removeFirst() : $0[0] }
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) * 1e-18) }

        let body = reply.body == AlertReceiver.echoAuthorization ? (headers["authorization"] ?? "") : reply.body
        let response = "HTTP/1.1 \(reply.status) Scripted\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let out = Array(response.utf8)
        // MSG_NOSIGNAL: the sink may have given up on a slow answer and closed its end.
        _ = out.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
