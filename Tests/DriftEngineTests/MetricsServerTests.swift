#if canImport(Glibc)
import Glibc
#endif
import DriftEngine
import Foundation
import Testing

/// The metrics endpoint over real HTTP on loopback, fed by a real replay.
@Suite struct MetricsServerTests {
    /// A plain HTTP/1.1 request over a socket: (status code, body).
    func get(_ port: Int, _ path: String, method: String = "GET") throws -> (Int, String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    @Test func scrapesShowTheReplaysCountsAndDriftGauges() throws {
        let metrics = PipelineMetrics()
        let server = try MetricsServer(address: "127.0.0.1:0", metrics: metrics)
        defer { server.stop() }
        #expect(server.port > 0)
        #expect(try get(server.port, "/healthz").0 == 200)
        #expect(try get(server.port, "/readyz").0 == 503)
        #expect(try get(server.port, "/nope").0 == 404)
        #expect(try get(server.port, "/metrics", method: "POST").0 == 405)

        let scratch = try ScratchDirectory()
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        let profilePath = scratch.file("reference.drp")
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: profilePath)
        config.reference.profile = profilePath
        var options = Replay.Options()
        options.metrics = metrics
        _ = try Replay(config: config, profile: try config.loadProfile()).run(inputs: [Fixture.path("traffic/stream.ndjson.zst")], options: options)

        #expect(try get(server.port, "/readyz").0 == 200)
        let (status, body) = try get(server.port, "/metrics")
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
