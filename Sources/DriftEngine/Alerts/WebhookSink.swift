#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a webhook sink cannot be made, in one line (the URL or option at fault; never a
/// credential).
public struct WebhookError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Sends alerts to an HTTP webhook that speaks the Prometheus Alertmanager v2 API
/// (`POST /api/v2/alerts` with a JSON array of alerts).
///
/// ``send(_:)`` only puts alerts on a bounded queue; one background thread per sink
/// takes up to ``Options/maxBatchSize`` of them at a time and posts them as one request.
/// So the pipeline never waits for the network: a slow or dead receiver fills the queue,
/// and alerts beyond ``Options/queueCapacity`` are dropped and counted, never buffered
/// without bound.
///
/// A 2xx answer delivers a batch. 5xx and 429 answers, refused or reset connections and
/// timeouts are retried with exponential backoff (``Options/initialBackoff`` doubled per
/// retry up to ``Options/maxBackoff``) until ``Options/maxAttempts`` attempts failed; the
/// batch is then dropped and counted. Other answers (4xx other than 429: the receiver
/// will never take these alerts; 3xx: redirects are not followed) drop the batch at once.
/// Alertmanager identifies an alert by its labels, so a batch delivered twice (an answer
/// lost after the receiver took it) does no harm.
///
/// Only `http://` URLs: TLS is not supported, because there is no TLS library in
/// Driftline's dependency budget (see ``HTTPEndpoint``); reach an `https://` receiver
/// through a TLS-terminating proxy on loopback.
///
/// Call ``close(timeout:)`` when done: it delivers what it can in the time given, then
/// stops the thread. A sink released without `close` stops its thread at once and drops
/// what was still queued (through ``onDrop``).
public final class WebhookSink: Sendable {
    public struct Options: Sendable {
        /// `http://host[:port]/path`, for Alertmanager `http://host:9093/api/v2/alerts`.
        public var url: String
        /// Per request: connecting, sending and waiting for the answer's status.
        public var timeout: Duration = .seconds(5)
        /// Requests tried for one batch before it is dropped (counted in ``Counters/dropped``).
        public var maxAttempts: Int = 5
        /// The wait after the first failed attempt; doubled after each further one.
        public var initialBackoff: Duration = .milliseconds(200)
        /// The longest wait between two attempts.
        public var maxBackoff: Duration = .seconds(10)
        /// Alerts accepted but not yet delivered or dropped (including those being sent);
        /// alerts sent beyond it are dropped at once and counted.
        public var queueCapacity: Int = 10_000
        /// The most alerts posted in one request; queued alerts are coalesced up to it.
        public var maxBatchSize: Int = 1_000
        /// The name of an environment variable holding a token sent as
        /// `Authorization: Bearer <token>`; read once, by ``WebhookSink/init(_:)``.
        /// `nil`: no `Authorization` header.
        public var bearerTokenEnvironment: String?

        public init(url: String) {
            self.url = url
        }
    }

    /// What happened to the alerts given to ``send(_:)`` so far. Every alert accepted is in
    /// exactly one of `delivered`, `dropped` or `queued`.
    public struct Counters: Sendable, Equatable {
        /// Alerts the receiver answered 2xx for.
        public var delivered: Int
        /// Alerts given up: queue full, rejected by the receiver, out of attempts, or closed.
        public var dropped: Int
        /// Requests that did not get a 2xx answer (each retry counts).
        public var failedAttempts: Int
        /// Alerts waiting or being sent.
        public var queued: Int

        public init(delivered: Int = 0, dropped: Int = 0, failedAttempts: Int = 0, queued: Int = 0) {
            self.delivered = delivered
            self.dropped = dropped
            self.failedAttempts = failedAttempts
            self.queued = queued
        }
    }

    let delivery: WebhookDelivery

    /// Checks the options, reads the bearer token, and starts the delivery thread.
    ///
    /// Nothing is sent and the host is not resolved until alerts come: a receiver that is
    /// not up yet is not an error here.
    ///
    /// - Throws: ``WebhookError`` in one line for a URL that is not `http://host[:port]/…`,
    ///   an option out of range, or a token variable that is unset, empty or not one line
    ///   (naming the variable, never its value).
    public init(_ options: Options) throws(WebhookError) {
        let endpoint = try HTTPEndpoint(url: options.url)
        guard options.maxAttempts >= 1 else { throw WebhookError("webhook maxAttempts must be at least 1, not \(options.maxAttempts)") }
        guard options.queueCapacity >= 1 else { throw WebhookError("webhook queueCapacity must be at least 1, not \(options.queueCapacity)") }
        guard options.maxBatchSize >= 1 else { throw WebhookError("webhook maxBatchSize must be at least 1, not \(options.maxBatchSize)") }
        guard options.timeout > .zero else { throw WebhookError("webhook timeout must be positive, not \(options.timeout)") }
        guard options.initialBackoff >= .zero, options.maxBackoff >= .zero else {
            throw WebhookError("webhook backoffs must not be negative")
        }
        var token: BearerToken?
        if let variable = options.bearerTokenEnvironment {
            token = try BearerToken(environment: variable)
        }
        delivery = WebhookDelivery(endpoint: endpoint, options: options, token: token)
        let delivery = self.delivery
        spawnDetachedThread { delivery.run() }
    }

    deinit {
        delivery.stop(by: .now)
    }

    /// Queues alerts for delivery and returns at once.
    ///
    /// It never waits for the network: the lock it takes is held by the delivery thread
    /// only to move alerts between its queue and the counters. Alerts that do not fit in
    /// ``Options/queueCapacity`` (and any sent after ``close(timeout:)``) are dropped,
    /// counted and reported through ``onDrop``.
    public func send(_ alerts: [AlertNotice]) {
        delivery.enqueue(alerts)
    }

    /// A consistent reading of the counters.
    public var counters: Counters {
        delivery.lock.withLock { state in
            Counters(delivered: state.delivered, dropped: state.dropped, failedAttempts: state.failedAttempts,
                     queued: state.waiting.count + state.inFlight)
        }
    }

    /// Delivers what it can within `timeout`, then stops the delivery thread.
    ///
    /// Requests and backoffs in progress are cut short at the deadline; alerts not
    /// delivered by then are dropped and counted. Returns as soon as the queue is empty,
    /// and otherwise at the deadline: a name lookup of the receiver's host, which cannot
    /// be interrupted, may keep it up to a second longer (the thread then ends on its own
    /// when the lookup does). Later ``send(_:)`` calls drop their alerts.
    public func close(timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        delivery.stop(by: deadline)
        delivery.lock.withLock(sleepingUntil: { $0.finished ? .now : .at(deadline + .seconds(1)) }) { _ in }
    }

    /// Called with one line (no credential in it) whenever alerts are dropped, on the
    /// thread that drops them: the delivery thread, or the caller of ``send(_:)`` when
    /// the queue is full. It should return quickly, since neither waits on anything else.
    public var onDrop: (@Sendable (String) -> Void)? {
        get { delivery.lock.withLock { $0.onDrop } }
        set { delivery.lock.withLock { $0.onDrop = newValue } }
    }
}

/// A bearer token read from the environment, kept out of every description.
struct BearerToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String

    /// Reads the token from the environment variable `variable`, trimming white space
    /// around it (a token file read with `$(cat …)` often ends in a newline).
    ///
    /// - Throws: ``WebhookError`` naming the variable when it is unset, empty, or holds a
    ///   control character inside the token (which would break the request's headers).
    init(environment variable: String) throws(WebhookError) {
        guard !variable.isEmpty else { throw WebhookError("webhook bearerTokenEnvironment is empty: name an environment variable") }
        guard let raw = getenv(variable) else {
            throw WebhookError("webhook token variable \(variable) is not set")
        }
        var token = Substring(String(cString: raw))
        while let c = token.first, c.isWhitespace { token.removeFirst() }
        while let c = token.last, c.isWhitespace { token.removeLast() }
        guard !token.isEmpty else { throw WebhookError("webhook token variable \(variable) is empty") }
        guard token.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw WebhookError("webhook token variable \(variable) holds a line break or control character; the token must be one line")
        }
        value = String(token)
    }

    var description: String { "<redacted>" }
    var debugDescription: String { "<redacted>" }
    var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// The queue, counters and delivery thread behind a ``WebhookSink``.
///
/// Split from the sink so the thread holds this, not the sink: a sink released without
/// ``WebhookSink/close(timeout:)`` still reaches its `deinit`, which stops the thread.
final class WebhookDelivery: Sendable {
    struct State: Sendable {
        /// Accepted alerts not yet taken into a batch, oldest first.
        var waiting: [AlertNotice] = []
        /// Alerts of the batch being sent.
        var inFlight = 0
        var delivered = 0
        var dropped = 0
        var failedAttempts = 0
        /// Set by a close (or the sink's `deinit`): requests, backoffs and the queue end then.
        var closeDeadline: ContinuousClock.Instant?
        /// The delivery thread has returned.
        var finished = false
        var onDrop: (@Sendable (String) -> Void)?
    }

    let endpoint: HTTPEndpoint
    let options: WebhookSink.Options
    let token: BearerToken?
    let headers: [(name: String, value: String)]
    let lock = ConditionLock(State())

    init(endpoint: HTTPEndpoint, options: WebhookSink.Options, token: BearerToken?) {
        self.endpoint = endpoint
        self.options = options
        self.token = token
        var headers = [
            (name: "User-Agent", value: "driftline/\(BuildInfo.version)"),
            (name: "Content-Type", value: "application/json"),
            (name: "Accept", value: "application/json"),
        ]
        if let token { headers.append((name: "Authorization", value: "Bearer \(token.value)")) }
        self.headers = headers
    }

    func enqueue(_ alerts: [AlertNotice]) {
        guard !alerts.isEmpty else { return }
        let capacity = options.queueCapacity
        let (accepted, message, onDrop) = lock.withLock { state -> (Int, String?, (@Sendable (String) -> Void)?) in
            if state.closeDeadline != nil {
                state.dropped += alerts.count
                return (0, "the sink is closed; dropped \(WebhookDelivery.count(alerts.count)) sent after close", state.onDrop)
            }
            let room = max(0, capacity - state.waiting.count - state.inFlight)
            let accepted = min(room, alerts.count)
            state.waiting += alerts.prefix(accepted)
            let refused = alerts.count - accepted
            state.dropped += refused
            guard refused > 0 else { return (accepted, nil, nil) }
            return (accepted, "queue full (\(capacity) alerts waiting); dropped \(WebhookDelivery.count(refused))", state.onDrop)
        }
        if accepted > 0 { lock.broadcast() }
        report(message, to: onDrop)
    }

    /// Brings the close deadline forward to `deadline` and wakes the thread to see it.
    func stop(by deadline: ContinuousClock.Instant) {
        lock.withLock { state in state.closeDeadline = min(state.closeDeadline ?? deadline, deadline) }
        lock.broadcast()
    }

    /// The delivery thread: batches until closed.
    func run() {
        while let batch = nextBatch() {
            deliver(batch)
        }
    }

    /// Waits for alerts and takes a batch of them; `nil` when the sink is closed and the
    /// queue empty or out of time (the rest dropped).
    func nextBatch() -> [AlertNotice]? {
        let maxBatchSize = options.maxBatchSize
        let (batch, message, onDrop) = lock.withLock(sleepingUntil: { state in
            state.waiting.isEmpty && state.closeDeadline == nil ? .onBroadcast : .now
        }) { state -> ([AlertNotice]?, String?, (@Sendable (String) -> Void)?) in
            if let deadline = state.closeDeadline, state.waiting.isEmpty || ContinuousClock.now >= deadline {
                let left = state.waiting.count
                state.waiting = []
                state.dropped += left
                state.finished = true
                return (nil, left > 0 ? "closed with \(WebhookDelivery.count(left)) undelivered; dropped them" : nil, state.onDrop)
            }
            let count = min(state.waiting.count, maxBatchSize)
            let batch = Array(state.waiting[..<count])
            state.waiting.removeFirst(count)
            state.inFlight = count
            return (batch, nil, nil)
        }
        if batch == nil { lock.broadcast() }  // wakes close()
        report(message, to: onDrop)
        return batch
    }

    /// Posts one batch until it is delivered, rejected, out of attempts or out of time.
    func deliver(_ batch: [AlertNotice]) {
        let post = HTTPPost(to: endpoint, headers: headers, body: Array(AlertNotice.jsonArray(batch).utf8))
        var attempt = 0
        while true {
            attempt += 1
            let requestDeadline = ContinuousClock.now + options.timeout
            let outcome = post.perform(deadline: {
                lock.withLock { state in min(requestDeadline, state.closeDeadline ?? requestDeadline) }
            })
            let problem: String
            switch outcome {
            case .success(let answer) where (200...299).contains(answer.status):
                finish(batch.count, delivered: true, failedAttempt: false, message: nil)
                return
            case .success(let answer) where answer.status == 429 || (500...599).contains(answer.status):
                problem = WebhookDelivery.describe(answer)
            case .success(let answer):
                let why = (300...399).contains(answer.status) ? "redirects are not followed" : "not retried"
                finish(batch.count, delivered: false, failedAttempt: true,
                       message: "dropped \(WebhookDelivery.count(batch.count)): \(WebhookDelivery.describe(answer)) (\(why))")
                return
            case .failure(let failure):
                problem = failure.message.hasPrefix("timed out") ? "\(failure.message) (timeout \(options.timeout))" : failure.message
            }
            if attempt >= options.maxAttempts {
                finish(batch.count, delivered: false, failedAttempt: true,
                       message: "dropped \(WebhookDelivery.count(batch.count)) after \(attempt) failed attempts; the last: \(problem)")
                return
            }
            lock.withLock { $0.failedAttempts += 1 }
            let wakeAt = ContinuousClock.now + backoff(after: attempt)
            let closed = lock.withLock(sleepingUntil: { state in
                .at(min(wakeAt, state.closeDeadline ?? wakeAt))
            }) { state in
                state.closeDeadline.map { ContinuousClock.now >= $0 } ?? false
            }
            if closed {
                finish(batch.count, delivered: false, failedAttempt: false,
                       message: "closed before \(WebhookDelivery.count(batch.count)) could be delivered; dropped them (attempt \(attempt): \(problem))")
                return
            }
        }
    }

    /// The wait after `attempt` failed attempts: the initial backoff doubled per retry, capped.
    func backoff(after attempt: Int) -> Duration {
        var wait = min(options.initialBackoff, options.maxBackoff)
        for _ in 1..<max(1, attempt) where wait < options.maxBackoff {
            wait = min(wait * 2, options.maxBackoff)
        }
        return wait
    }

    /// Ends the batch in flight.
    func finish(_ count: Int, delivered: Bool, failedAttempt: Bool, message: String?) {
        let onDrop = lock.withLock { state in
            state.inFlight = 0
            if delivered { state.delivered += count } else { state.dropped += count }
            if failedAttempt { state.failedAttempts += 1 }
            return state.onDrop
        }
        report(message, to: onDrop)
    }

    /// Hands a drop message to `onDrop`, with the endpoint and without the token (a
    /// receiver's error answer could echo it back).
    func report(_ message: String?, to onDrop: (@Sendable (String) -> Void)?) {
        guard let message, let onDrop else { return }
        var line = "webhook \(endpoint): \(message)"
        if let token { line = line.replacing(token.value, with: "<redacted>") }
        onDrop(line)
    }

    static func describe(_ answer: HTTPPost.Answer) -> String {
        var text = "the receiver answered \(answer.status)"
        if !answer.reason.isEmpty { text += " \(answer.reason)" }
        if !answer.bodyExcerpt.isEmpty { text += ": \(answer.bodyExcerpt)" }
        return text
    }

    static func count(_ n: Int) -> String { n == 1 ? "1 alert" : "\(n) alerts" }

}
