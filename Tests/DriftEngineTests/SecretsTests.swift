#if canImport(Glibc)
import Glibc
#endif
import DriftCore
@testable import DriftEngine
import Foundation
import Testing

/// SASL/SSL secrets in `kafka.properties` reach librdkafka and nothing else: not the logs, not
/// the one-line errors, not checkpoints, snapshots or what `inspect` prints.
@Suite struct SecretsTests {
    @Test(arguments: [
        ("sasl.password", true), ("ssl.key.password", true), ("ssl.keystore.password", true), ("ssl.key.pem", true),
        ("sasl.oauthbearer.client.secret", true), ("sasl.oauthbearer.config", true), ("SSL.Key.Password", true),
        ("vendor.api.token", true), ("security.protocol", false), ("sasl.mechanism", false), ("sasl.username", false),
        ("bootstrap.servers", false), ("session.timeout.ms", false),
    ])
    func propertiesNamedLikeSecretsAreSecret(name: String, secret: Bool) {
        #expect(SecretRedaction.isSecret(propertyName: name) == secret)
    }

    @Test func logLinesAndErrorsHideRegisteredValuesInBothFormats() throws {
        SecretRedaction.register(["sasl.password": #"pw-"quoted"-5e1d"#, "ssl.key.password": "kp-5e1d", "sasl.username": "alice-5e1d"])
        let human = DriftlineLogHandler.line(
            format: .human, label: "driftline.run", level: .warning, message: #"kafka: auth failed for pw-"quoted"-5e1d"#,
            metadata: ["key": "kp-5e1d"], now: 0)
        #expect(human == "1970-01-01T00:00:00.000Z WARNING kafka: auth failed for <redacted> key=<redacted>")
        let json = DriftlineLogHandler.line(
            format: .json, label: "driftline.run", level: .error, message: #"kafka: pw-"quoted"-5e1d by alice-5e1d"#,
            metadata: [:], now: 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        // The user name is not a secret.
        #expect(object["message"] == "kafka: <redacted> by alice-5e1d")
        #expect(SecretRedaction.redact("cannot use kp-5e1d") == "cannot use <redacted>")
    }

    /// A run that authenticates with SASL against the embedded broker (which speaks plaintext
    /// only, so authentication fails and is logged over and over), with librdkafka's
    /// configuration and security debugging on: librdkafka shows it got the secrets (as
    /// `[redacted]`), and no secret appears in the logs, the checkpoint, `inspect`, snapshots.
    @Test func secretsReachLibrdkafkaAndNoOutput() throws {
        let topic = try LiveTopic(produce: false)
        let secrets = ["pw-9c41e7", "kp-0b2d55", "ks-77aa10"]
        var yaml = try String(contentsOfFile: try topic.config(group: "sasl", state: "state-sasl"), encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "    log_level: \"0\"\n", with: """
                log_level: "7"
                debug: "conf,security"
                security.protocol: SASL_PLAINTEXT
                sasl.mechanism: PLAIN
                sasl.username: alice
                sasl.password: "\(secrets[0])"
                ssl.key.password: "\(secrets[1])"
                ssl.keystore.password: "\(secrets[2])"

            """)
        let config = topic.scratch.file("sasl-secrets.yaml")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        func expectNoSecret(_ text: String, _ what: String) {
            for s in secrets { #expect(!text.contains(s), "\(what) shows \(s)") }
        }

        let run = try DriftlineChild(["run", "--config", config, "--log-format", "json", "--until-idle", "60s"])
        let failing = run.wait(upTo: 30) { run.stderr.contains(#""message":"kafka: "#) && run.stderr.contains("SASL") }
        kill(run.pid, SIGTERM)
        run.wait()
        #expect(failing, "the failed authentication is logged: \(run.stderr)")
        #expect(run.process.terminationStatus == 0)
        #expect(run.stderr.contains("sasl.password = [redacted]"), "librdkafka got the password")
        expectNoSecret(run.stderr + run.stdout, "the run's output")

        // The checkpoint written on the way out, its payload and what inspect says of it.
        let store = try CheckpointStore(directory: topic.scratch.file("state-sasl"))
        let checkpoint = try #require(store.files().first)
        let (_, payload) = try FileContainer.decode(.checkpoint, [UInt8](Data(contentsOf: URL(fileURLWithPath: checkpoint.path))))
        expectNoSecret(String(decoding: payload, as: UTF8.self), "the checkpoint")
        let inspection = try FileInspection.inspect(path: checkpoint.path)
        expectNoSecret(inspection.text + inspection.json, "inspect of the checkpoint")

        // Snapshots written by a replay with the same config, and inspect of their directory.
        let input = topic.scratch.file("slice.ndjson")
        try Data(Array(topic.lines.prefix(3000).joined(separator: [0x0A])) + [0x0A]).write(to: URL(fileURLWithPath: input))
        let snapshots = topic.scratch.file("snapshots")
        let replay = try DriftlineChild(["replay", "--config", config, "--input", input, "--snapshots", snapshots, "--results", topic.scratch.file("r.jsonl")])
        replay.wait()
        #expect(replay.process.terminationStatus == 0, "\(replay.stderr)")
        let files = try #require(FileManager.default.enumerator(atPath: snapshots)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".drs") })
        #expect(!files.isEmpty)
        for file in files {
            let (_, payload) = try FileContainer.decode(.snapshot, [UInt8](Data(contentsOf: URL(fileURLWithPath: snapshots + "/" + file))))
            expectNoSecret(String(decoding: payload, as: UTF8.self), file)
        }
        let inspected = try FileInspection.inspect(path: snapshots)
        expectNoSecret(inspected.text + inspected.json + replay.stderr + replay.stdout, "inspect of the snapshots and the replay's output")

        // TLS material librdkafka refuses: one line naming the property, not its value.
        let tls = yaml.replacingOccurrences(of: "security.protocol: SASL_PLAINTEXT", with: "security.protocol: SSL")
            .replacingOccurrences(of: "    sasl.mechanism: PLAIN\n", with: "    ssl.certificate.pem: \"\(secrets[2])\"\n    ssl.key.pem: \"\(secrets[0])\"\n")
        try tls.write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try DriftlineChild(["run", "--config", config, "--until-idle", "1s"])
        refused.wait()
        #expect(refused.process.terminationStatus == 1)
        let lines = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("driftline: ") }
        #expect(lines.count == 1 && lines[0].contains("ssl."), "\(refused.stderr)")
        expectNoSecret(refused.stderr, "the refusal")
    }
}
