#if canImport(Glibc)
import Glibc
#endif
import DriftEngine
import Foundation
import Testing

/// The metrics endpoint over real HTTP on loopback, fed by a real replay.
@Suite struct MetricsServerTests {
    @Test func scrapesShowTheReplaysCountsAndDriftGauges() throws {
        let metrics = PipelineMetrics()
        let server = try MetricsServer(address: "127.0.0.1:0", metrics: metrics)
        defer { server.stop() }
        #expect(server.port > 0)
        #expect(try httpGet(server.port, "/healthz").0 == 200)
        #expect(try httpGet(server.port, "/readyz").0 == 503)
        #expect(try httpGet(server.port, "/nope").0 == 404)
        #expect(try httpGet(server.port, "/metrics", method: "POST").0 == 405)

        let scratch = try ScratchDirectory()
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        let profilePath = scratch.file("reference.drp")
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: profilePath)
        config.reference.profile = profilePath
        var options = Replay.Options()
        options.metrics = metrics
        _ = try Replay(config: config, profile: try config.loadProfile()).run(inputs: [Fixture.path("traffic/stream.ndjson.zst")], options: options)

        #expect(try httpGet(server.port, "/readyz").0 == 200)
        let (status, body) = try httpGet(server.port, "/metrics")
        #expect(status == 200)
        let lines = body.split(separator: "\n").map(String.init)
        #expect(lines.contains("driftline_events_read_total 24008"))
        #expect(lines.contains("driftline_events_accepted_total 24003"))
        #expect(lines.contains("driftline_events_late_total 3"))
        #expect(lines.contains("driftline_windows_closed_total 26"))
        #expect(lines.contains(#"driftline_events_rejected_total{reason="malformed_json"} 1"#))
        #expect(lines.contains { $0.hasPrefix(#"driftline_feature_psi{model="fraud-v3",feature="prediction.score"} "#) })
        #expect(lines.contains { $0.hasPrefix(#"driftline_feature_chi2_pvalue{model="fraud-v3",feature="features.country"} "#) })
    }

    @Test func featureSeriesAreBounded() throws {
        let metrics = PipelineMetrics(maxFeatureSeries: 3)
        let scratch = try ScratchDirectory()
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: scratch.file("r.drp"))
        config.reference.profile = scratch.file("r.drp")
        var options = Replay.Options()
        options.metrics = metrics
        _ = try Replay(config: config, profile: try config.loadProfile()).run(inputs: [Fixture.path("traffic/stream.ndjson.zst")], options: options)
        let text = metrics.exposition()
        let psiSeries = text.split(separator: "\n").filter { $0.hasPrefix("driftline_feature_psi{") }
        #expect(psiSeries.count == 3)
        // 12 features per window, 3 admitted: 9 refused in each of the 26 windows.
        #expect(text.contains("driftline_feature_series_dropped_total \(9 * 26)"))
    }

    @Test func addressesAreCheckedAndLoopbackIsWhatIsAsked() throws {
        #expect(MetricsServer.parse("127.0.0.1:9464")! == ("127.0.0.1", 9464))
        #expect(MetricsServer.parse("localhost:1")! == ("127.0.0.1", 1))
        #expect(MetricsServer.parse("9464") == nil)
        #expect(MetricsServer.parse("example.com:80") == nil)
        #expect(MetricsServer.parse("127.0.0.1:70000") == nil)
        #expect(throws: ConfigError.self) { _ = try MetricsServer(address: "nowhere", metrics: PipelineMetrics()) }
    }
}
