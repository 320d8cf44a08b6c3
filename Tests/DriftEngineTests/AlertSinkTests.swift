import DriftKafka
import DriftCore
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

/// The webhook sink behind the alert rules, in a real replay of the Fixtures traffic.
@Suite struct WebhookAlertTests {
    func replay(webhook url: String, windows: ((ClosedWindow) -> Void)? = nil) throws -> (ReplaySummary, Alerting) {
        let scratch = try ScratchDirectory()
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: scratch.file("r.drp"))
        config.reference.profile = scratch.file("r.drp")
        config.alerts.sinks = [.webhook(url)]
        let alerting = try #require(try config.makeAlerting(print: { _ in }))
        var options = Replay.Options()
        options.alerts = alerting
        if let windows { options.onWindow = { windows($0) } }
        let summary = try Replay(config: config, profile: try config.loadProfile())
            .run(inputs: [Fixture.path("traffic/stream.ndjson.zst")], options: options)
        return (summary, alerting)
    }

    @Test func everyAlertChangeReachesAlertmanager() throws {
        let receiver = try AlertReceiver()
        defer { receiver.stop() }
        var drifted: [String: [Bool]] = [:]
        let (summary, alerting) = try replay(webhook: "http://127.0.0.1:\(receiver.port)/api/v2/alerts") { w in
            for r in w.results { drifted[r.feature, default: []].append(r.drift) }
        }
        #expect(summary.alertChanges > 0)
        #expect(alerting.webhookCounters.delivered == summary.alertChanges)
        let alerts = try receiver.received.flatMap { request in
            try #require(try JSONSerialization.jsonObject(with: request.body) as? [[String: Any]])
        }
        #expect(alerts.count == summary.alertChanges)
        #expect(alerts.allSatisfy { ($0["labels"] as? [String: String])?["alertname"] != nil && $0["startsAt"] != nil })
        // feature-drift (psi >= 0.2, for: 2) fires exactly for the features that drifted in two
        // windows in a row, and for no other.
        let expected = Set(drifted.filter { _, flags in zip(flags, flags.dropFirst()).contains { $0 && $1 } }.keys)
        let fired = Set(alerts.compactMap { a -> String? in
            let labels = a["labels"] as? [String: String]
            return labels?["alertname"] == "feature-drift" ? labels?["feature"] : nil
        })
        #expect(!expected.isEmpty)
        #expect(fired == expected)
        // The example stream ends while drifting: every change is a firing one.
        #expect(alerts.allSatisfy { $0["endsAt"] == nil })
        #expect(Set(alerts.compactMap { ($0["labels"] as? [String: String])?["alertname"] }) == ["feature-drift", "model-drift", "distribution-shift"])
    }

    @Test func aDeadReceiverDoesNotStopThePipelineAndDropsAreCounted() throws {
        let (summary, alerting) = try replay(webhook: "http://127.0.0.1:\(try AlertReceiver.closedPort())/api/v2/alerts")
        // Every window was processed and every change accounted for: delivered none, the
        // rest dropped after their retries or when closing.
        #expect(summary.windowsClosed == 26)
        let c = alerting.webhookCounters
        #expect(c.delivered == 0)
        #expect(c.dropped == summary.alertChanges)
        #expect(c.queued == 0)
    }
}
