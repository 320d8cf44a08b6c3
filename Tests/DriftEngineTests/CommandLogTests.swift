import Foundation
import Testing

/// `--log-format` on `profile` and `replay`, through the `driftline` executable.
@Suite struct CommandLogTests {
    /// Every line of `text` as a JSON object.
    func jsonLines(_ text: String) throws -> [[String: String]] {
        try text.split(separator: "\n").map { line in
            try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "not a JSON log line: \(line)")
        }
    }

    @Test func jsonLogsOfProfileAndReplayAreJSONLinesOnly() throws {
        let scenario = try VolumeScenario()
        let scratch = scenario.scratch
        let profile = try DriftlineBinary.run([
            "profile", "--config", scenario.configPath, "--input", scratch.file("reference.ndjson"),
            "--output", scratch.file("reference.drp"), "--log-format", "json",
        ])
        #expect(profile.status == 0)
        let profileLines = try jsonLines(profile.stderr)
        #expect(profileLines.count == 1)
        #expect(profileLines.first?["logger"] == "driftline.profile" && profileLines.first?["level"] == "info")
        #expect(profileLines.first?["message"]?.hasPrefix("profile \(scratch.file("reference.drp")): 3601 events") == true)

        // A profile without event times: each volume rule says once that it is skipped.
        try scenario.dropEventTimes()
        let replay = try DriftlineBinary.run([
            "replay", "--config", scenario.configPath, "--input", try scenario.writeStream(), "--log-format", "json",
        ])
        #expect(replay.status == 0)
        let lines = try jsonLines(replay.stderr)
        #expect(lines.allSatisfy { $0["logger"] == "driftline.replay" && $0["ts"]?.hasSuffix("Z") == true })
        #expect(lines.filter { $0["level"] == "warning" }.compactMap { $0["message"] }.map { $0.contains("volume_ratio") } == [true, true])
        let summary = try #require(lines.last)
        #expect(summary["level"] == "info")
        #expect(summary["message"]?.contains("windows closed 8 (0 with drift)") == true)
    }

    @Test func humanLogsKeepTheSummaryAsItIs() throws {
        let scenario = try VolumeScenario()
        try scenario.dropEventTimes()
        let replay = try DriftlineBinary.run(["replay", "--config", scenario.configPath, "--input", try scenario.writeStream()])
        #expect(replay.status == 0)
        let lines = replay.stderr.split(separator: "\n")
        #expect(lines.filter { $0.contains(" WARNING alert rule `traffic-") }.count == 2)
        #expect(lines.contains { $0.hasPrefix("windows closed 8 (0 with drift)") })
        #expect(lines.first { $0.hasPrefix("lines 2100: accepted 2100, rejected 0") } != nil)
    }
}

/// Standard output and exit codes of `replay`, through the `driftline` executable.
@Suite struct CommandOutputTests {
    /// `--results -` keeps standard output JSON lines even with the example config's stdout
    /// alert sink: its human lines go to standard error then.
    @Test func resultsOnStandardOutputStayJSONLines() throws {
        // The example config, with its profile built here (a fresh checkout has none).
        let scratch = try ScratchDirectory()
        let yaml = try String(contentsOfFile: Fixture.path("fraud.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "profile: traffic/reference.drp", with: "profile: \(scratch.file("reference.drp"))")
        try yaml.write(toFile: scratch.file("fraud.yaml"), atomically: true, encoding: .utf8)
        let profile = try DriftlineBinary.run([
            "profile", "--config", scratch.file("fraud.yaml"), "--input", Fixture.path("traffic/reference.ndjson.zst"),
            "--output", scratch.file("reference.drp"),
        ])
        #expect(profile.status == 0, "\(profile.stderr)")
        let replay = try DriftlineBinary.run([
            "replay", "--config", scratch.file("fraud.yaml"), "--input", Fixture.path("traffic/stream.ndjson.zst"),
            "--results", "-",
        ])
        #expect(replay.status == 0)
        let lines = replay.stdout.split(separator: "\n")
        #expect(lines.count == 338)
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] })
        #expect(replay.stderr.contains("FIRING"))
    }

    /// `--strict`: exit code 2, one line naming the event, and the event in the dead letters.
    @Test func strictStopsWithExitCodeTwo() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("in.ndjson")
        try "{\"ts\": 1700000000000, \"x\": 1}\n{\"ts\": 1700000001000, \"x\": \"NaN\"}\n{\"ts\": 1700000002000, \"x\": 2}\n"
            .write(toFile: input, atomically: true, encoding: .utf8)
        let config = scratch.file("c.yaml")
        try "input:\n  timestamp: ts\n  numeric: [x]\nreference:\n  from_stream: 1h\nwindow:\n  size: 1m\n  slide: 1m\n  lateness: 0s\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let replay = try DriftlineBinary.run([
            "replay", "--config", config, "--input", input, "--strict", "--dead-letter", scratch.file("dead.ndjson"),
        ])
        #expect(replay.status == 2)
        #expect(replay.stderr.split(separator: "\n").count == 1 && replay.stderr.contains("\(input)"), "\(replay.stderr)")
        let dead = try String(contentsOfFile: scratch.file("dead.ndjson"), encoding: .utf8)
        #expect(dead.split(separator: "\n").count == 1 && dead.contains(#""position":2,"reason":"not_a_number""#), "\(dead)")
    }
}
