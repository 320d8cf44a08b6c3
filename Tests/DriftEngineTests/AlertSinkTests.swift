import DriftKafka
import Foundation
import Testing

@testable import DriftEngine

/// The Kafka and file sinks against real components: the embedded broker and files.
@Suite struct AlertSinkTests {
    @Test func alertsGoToAKafkaTopicKeyedByFingerprintAndToAFile() throws {
        let broker = try EmbeddedBroker(topics: [(name: "driftline-alerts", partitions: 2)])
        defer { broker.stop() }
        let scratch = try ScratchDirectory()
        var settings = AlertSettings()
        var rule = AlertSettings.Rule(name: "psi", metric: "psi", op: ">=", threshold: 0.2)
        rule.labels = ["team": "risk"]
        settings.rules = [rule]
        settings.sinks = [.kafka("driftline-alerts"), .file("alerts.jsonl"), .stdout]
        var printed: [String] = []
        let alerting = try Alerting(
            settings: settings, minCount: 100, kafkaBrokers: broker.bootstrapServers, kafkaProperties: ["log_level": "0"],
            resolvePath: { scratch.file($0) }, print: { printed.append($0) })
        try alerting.start(resumingFileAt: nil)
        let maker = AlertEngineTests()
        var events: [AlertEvent] = []
        for (k, psi) in [0.5, 0.1, 0.3].enumerated() {
            events += try alerting.process(maker.window(Int64(k), psi: ["x": psi, "y": 0]), counts: PipelineCounts())
        }
        try alerting.close()
        #expect(events.map(\.state) == [.firing, .resolved, .firing])
        #expect(printed.count == 3 && printed[0].hasPrefix("FIRING"))
        let lines = try String(contentsOfFile: scratch.file("alerts.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == events.map(\.jsonLine))

        let consumer = try KafkaConsumer(.init(
            bootstrapServers: broker.bootstrapServers, groupID: "reader", topics: ["driftline-alerts"], properties: ["log_level": "0"]))
        var received: [(key: String, value: String)] = []
        let deadline = Date().addingTimeInterval(20)
        while received.count < 3 && Date() < deadline {
            try consumer.poll(maxMessages: 10, timeoutMilliseconds: 100) { event in
                guard case .message(let m) = event else { return }
                received.append((String(decoding: m.key ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self),
                                 String(decoding: m.value, as: UTF8.self)))
            }
        }
        try consumer.close()
        #expect(received.count == 3)
        #expect(Set(received.map(\.key)) == [events[0].fingerprint])
        #expect(Set(received.map(\.value)) == Set(events.map(\.jsonLine)))
        let object = try JSONSerialization.jsonObject(with: Data(received[0].value.utf8)) as? [String: Any]
        #expect((object?["labels"] as? [String: String])?["team"] == "risk")
    }
}
