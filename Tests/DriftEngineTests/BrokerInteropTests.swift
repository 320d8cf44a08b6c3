import DriftEngine
import DriftKafka
import Foundation
import Testing

/// The embedded broker behind the loopback forwarder, as `driftline broker --port`
/// runs them, exercised by clients no one here wrote (kcat) and by librdkafka.
@Suite(.serialized) struct BrokerInteropTests {
    static let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }

    func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(BrokerInteropTests.kcat))
        process.arguments = arguments
        let out = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Port of the first broker in the bootstrap list.
    func brokerPort(_ broker: EmbeddedBroker) throws -> Int {
        let first = try #require(broker.bootstrapServers.split(separator: ",").first)
        let port = first.split(separator: ":").last.flatMap { Int($0) }
        return try #require(port)
    }

    @Test func forwarderServesMetadataFromTheBrokers() throws {
        let broker = try EmbeddedBroker(brokers: 3, topics: [("predictions", 6)])
        defer { broker.stop() }
        let forwarder = try LoopbackForwarder(port: 0, targetPort: try brokerPort(broker))
        defer { forwarder.stop() }
        let metadata = try KafkaMetadata.fetch(bootstrapServers: "127.0.0.1:\(forwarder.port)", timeout: .seconds(5))
        #expect(metadata.brokers.count == 3)
        #expect(metadata.partitionCount(of: "predictions") == 6)
    }

    @Test(.enabled(if: kcat != nil, "kcat is not installed (scripts/install-deps.sh installs it)"))
    func kcatProducesAndConsumesThroughTheFixedPort() throws {
        let broker = try EmbeddedBroker(topics: [("events", 2)])
        defer { broker.stop() }
        let forwarder = try LoopbackForwarder(port: 0, targetPort: try brokerPort(broker))
        defer { forwarder.stop() }
        let bootstrap = "127.0.0.1:\(forwarder.port)"
        let messages = (0..<50).map { #"{"ts": \#(1_700_000_000 + $0), "x": \#($0)}"# }
        let produced = try run(["-P", "-b", bootstrap, "-t", "events", "-K", "|"], input: messages.enumerated().map { "k\($0.offset % 5)|\($0.element)" }.joined(separator: "\n") + "\n")
        #expect(produced.status == 0)
        let consumed = try run(["-C", "-b", bootstrap, "-t", "events", "-o", "beginning", "-e", "-q"])
        #expect(consumed.status == 0)
        #expect(consumed.output.split(separator: "\n").map(String.init).sorted() == messages.sorted())
        let listing = try run(["-L", "-b", bootstrap, "-t", "events"])
        #expect(listing.output.contains("topic \"events\" with 2 partitions"))
    }

    @Test func aPortInUseIsAClearError() throws {
        let first = try LoopbackForwarder(port: 0, targetPort: 9)
        defer { first.stop() }
        #expect {
            _ = try LoopbackForwarder(port: first.port, targetPort: 9)
        } throws: { error in
            String(describing: error).contains("cannot listen on 127.0.0.1:\(first.port)")
        }
    }
}
