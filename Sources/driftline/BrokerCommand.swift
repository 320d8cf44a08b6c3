#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DriftEngine
import DriftKafka

struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run an embedded Kafka-protocol broker on loopback (librdkafka's mock cluster).",
        discussion: """
            The first line on stdout is bootstrap=127.0.0.1:PORT; the broker runs until \
            SIGINT or SIGTERM. Limits of librdkafka 2.0.2's mock: plaintext only, about \
            5 MB kept per partition (older data is dropped), no admin API (topics come \
            from --topic or are auto-created with 4 partitions), the first consumer-group \
            join waits about 3 s. Brokers listen on ports the kernel picks; --port puts a \
            loopback forwarder on a fixed port in front of broker 1 for bootstrapping.
            """)

    @Option(name: .long, help: "A fixed bootstrap port on 127.0.0.1 (default: the mock's own port).")
    var port: Int?

    @Option(name: .long, help: "Number of brokers.")
    var brokers: Int = 1

    @Option(name: .long, help: "A topic to create, NAME or NAME:PARTITIONS (repeatable).")
    var topic: [String] = []

    func validate() throws {
        guard (1...16).contains(brokers) else { throw ValidationError("--brokers must be 1...16") }
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be 1...65535") }
        _ = try topics()
    }

    func topics() throws -> [(name: String, partitions: Int)] {
        try topic.map { spec in
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
            guard let name = parts.first, !name.isEmpty, parts.count <= 2 else {
                throw ValidationError("--topic \(spec): expected NAME or NAME:PARTITIONS")
            }
            guard parts.count == 2 else { return (String(name), 1) }
            guard let n = Int(parts[1]), n >= 1 else { throw ValidationError("--topic \(spec): partitions must be a positive integer") }
            return (String(name), n)
        }
    }

    func run() throws {
        try Terminal.run {
            // Block the stop signals before any thread starts, then wait for one.
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGINT)
            sigaddset(&signals, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &signals, nil)

            let broker = try EmbeddedBroker(brokers: brokers, topics: try topics())
            let first = broker.bootstrapServers.split(separator: ",").first.map(String.init) ?? broker.bootstrapServers
            var forwarder: LoopbackForwarder?
            var bootstrap = first
            if let port {
                guard let brokerPort = first.split(separator: ":").last.flatMap({ Int($0) }) else {
                    throw FileError("cannot read the mock broker's port from \(first)")
                }
                forwarder = try LoopbackForwarder(port: port, targetPort: brokerPort)
                bootstrap = "127.0.0.1:\(port)"
            }
            var line = "bootstrap=\(bootstrap)\n"
            line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
            Terminal.print("brokers \(broker.bootstrapServers); topics \(topic.isEmpty ? "(auto-created)" : topic.joined(separator: ", ")); stop with Ctrl-C")
            var received: Int32 = 0
            sigwait(&signals, &received)
            forwarder?.stop()
            broker.stop()
        }
    }
}
