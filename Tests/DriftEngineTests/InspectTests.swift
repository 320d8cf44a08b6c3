import DriftCore
import DriftEngine
import DriftKafka
import DriftStats
import Foundation
import Testing

/// `driftline inspect` through the function the command calls: the JSON of each kind of file
/// parses and holds the file's numbers; unknown and damaged files fail naming the file.
@Suite(.serialized) struct InspectTests {
    let scratch: ScratchDirectory

    init() throws {
        scratch = try ScratchDirectory()
    }

    func json(_ path: String) throws -> [String: Any] {
        let inspection = try FileInspection.inspect(path: path)
        #expect(!inspection.json.contains("\n"), "one compact document")
        #expect(!inspection.text.isEmpty)
        return try #require(try JSONSerialization.jsonObject(with: Data(inspection.json.utf8)) as? [String: Any])
    }

    /// Numbers are written in Swift's shortest round-trip form; Foundation's JSON parser on
    /// Linux can be off by an ulp or two, so compare to 1e-14 relative.
    func same(_ json: Any?, _ value: Double?) -> Bool {
        guard let value else { return json is NSNull }
        guard let parsed = json as? Double else { return false }
        return abs(parsed - value) <= 1e-14 * max(abs(value), Double.leastNormalMagnitude)
    }

    @Test func profileAndSnapshots() throws {
        let run = try SnapshotRun.make(scratch: scratch)
        let profilePath = try #require(run.config.reference.profile)

        let p = try json(profilePath)
        #expect(p["kind"] as? String == "profile")
        #expect(p["format"] as? String == "1.1")
        let binning = try #require(p["binning"] as? [String: Any])
        #expect(binning["psi_bins"] as? Int == 10 && binning["ks_bins"] as? Int == 1000 && binning["top_k"] as? Int == 1000)
        #expect(p["model_path"] as? String == "model")
        #expect(p["numeric_features"] as? [String] == run.profile.numericPaths)
        let models = try #require(p["models"] as? [[String: Any]])
        #expect(models.map { $0["model"] as? String } == run.profile.models.keys.sorted())
        let model = models[0]
        let reference = run.profile.models[model["model"] as! String]!
        #expect(model["events"] as? Int == reference.events)
        // The Fixtures reference: 20 000 events over a day.
        let times = try #require(model["event_times"] as? [String: Any])
        #expect(times["events"] as? Int == 20_000)
        #expect((times["first"] as? String)?.hasPrefix("2025-11-25T") == true)
        #expect(same(times["events_per_second"], reference.eventTimes?.expectedEvents(in: 1_000_000)))
        let numeric = try #require(model["numeric"] as? [[String: Any]])
        #expect(numeric.count == run.profile.numericPaths.count)
        for (f, s) in zip(numeric, reference.numeric) {
            #expect(f["psi_edges"] as? Int == s.psiEdges.values.count)
            #expect(f["fine_edges"] as? Int == s.fine.edges.values.count)
            #expect(f["count"] as? Int == s.count)
            #expect(same(f["mean"], s.moments.mean))
            #expect(same(f["std"], s.moments.standardDeviation))
        }
        let categorical = try #require(model["categorical"] as? [[String: Any]])
        for (f, c) in zip(categorical, reference.categorical) {
            #expect(f["categories"] as? Int == c.dictionary.categories.count)
            let top = try #require(f["top"] as? [[String: Any]])
            let best = c.dictionary.categories.indices.max { c.counts.counts[$0] < c.counts.counts[$1] }!
            #expect(top.first?["category"] as? String == c.dictionary.categories[best])
            #expect(top.first?["count"] as? Int == Int(c.counts.counts[best]))
        }

        // One snapshot file: its window, features, metrics and drift.
        let drifted = try #require(run.windows.firstIndex { $0.results.contains(where: \.drift) })
        let w = run.windows[drifted]
        let s = try json(run.path(of: w))
        #expect(s["kind"] as? String == "snapshot")
        let windows = try #require(s["windows"] as? [[String: Any]])
        try #require(windows.count == 1)
        #expect(windows[0]["model"] as? String == w.model)
        #expect(windows[0]["window_start"] as? String == TimestampFormat.rfc3339Milliseconds(w.start))
        #expect(windows[0]["window_end_us"] as? Int == Int(w.end))
        #expect(windows[0]["events"] as? Int == w.events)
        #expect(windows[0]["drifted_features"] as? Int == w.results.filter(\.drift).count)
        let features = try #require(windows[0]["features"] as? [[String: Any]])
        #expect(features.map { $0["feature"] as? String } == w.results.map(\.feature))
        for (f, r) in zip(features, w.results) {
            #expect(f["drift"] as? Bool == r.drift)
            switch r.metrics {
            case .numeric(let m):
                #expect(f["kind"] as? String == "numeric")
                #expect(same(f["psi"], m.psi))
                #expect(same(f["ks_pvalue"], m.ksPValue))
                #expect(same(f["mean"], m.mean))
                #expect(f["count"] as? Int == m.count)
                #expect((f["window_proportions"] as? [Double])?.count == (f["psi_edges"] as? [Double]).map { $0.count + 1 })
            case .categorical(let m):
                #expect(f["kind"] as? String == "categorical")
                #expect(same(f["psi"], m.psi))
                #expect(same(f["chi2_pvalue"], m.chi2PValue))
                #expect((f["categories"] as? [String])?.last == "__other__")
            }
            #expect((f["reference_proportions"] as? [Double])?.count == (f["window_proportions"] as? [Double])?.count)
        }

        // The whole directory.
        let d = try json(run.directory)
        #expect(d["kind"] as? String == "snapshots")
        #expect((d["windows"] as? [Any])?.count == run.windows.count)
        #expect((d["skipped"] as? [Any])?.count == 0)

        // A damaged snapshot or profile is an error naming the file.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: profilePath)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: scratch.file("damaged.drp")))
        let error = try #require(throws: FileError.self) { _ = try FileInspection.inspect(path: scratch.file("damaged.drp")) }
        #expect(error.message.hasPrefix(scratch.file("damaged.drp") + ": "))
        #expect(!error.message.contains("\n"))
    }

    @Test func checkpoint() throws {
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        let profilePath = scratch.file("reference.drp")
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: profilePath)
        config.reference.profile = profilePath
        let profile = try #require(try config.loadProfile())
        let spec = try #require(WindowSpec(
            size: config.window.sizeMicroseconds, slide: config.window.slideMicroseconds, lateness: config.window.latenessMicroseconds))
        var aggregator = PartitionedAggregator(spec: spec, schema: config.input, profile: profile, decision: DriftDecision())
        aggregator.register("predictions/0")
        aggregator.register("predictions/1")
        var w = ByteWriter()
        aggregator.encode(to: &w)
        let checkpoint = Checkpoint(
            sequence: 42, profileFingerprint: profile.fingerprint, settings: "numeric=[a] window=1/1/0",
            positions: ["predictions/0": 1234, "predictions/1": 99], aggregates: w.bytes, resultsLength: 5678, deadLetterLength: nil,
            counters: ["accepted": 1300, "late": 7])
        let store = try CheckpointStore(directory: scratch.file("state"))
        try store.write(checkpoint)
        let path = try #require(store.files().first?.path)

        let c = try json(path)
        #expect(c["kind"] as? String == "checkpoint")
        #expect(c["sequence"] as? Int == 42)
        let partitions = try #require(c["partitions"] as? [[String: Any]])
        #expect(partitions.map { $0["partition"] as? String } == ["predictions/0", "predictions/1"])
        #expect(partitions.map { $0["next_offset"] as? Int } == [1234, 99])
        #expect(c["results_length"] as? Int == 5678)
        #expect(c["dead_letter_length"] is NSNull)
        #expect((c["counters"] as? [String: Int]) == ["accepted": 1300, "late": 7])
        #expect(c["aggregates_bytes"] as? Int == w.bytes.count)
        #expect(c["profile_fingerprint"] as? String == String(format: "%08x", profile.fingerprint))
    }

    func record(_ path: String) throws {
        let writer = try RecordingWriter(path: path)
        try writer.appendAssignment([TopicPartition("predictions", 0), TopicPartition("predictions", 1)])
        let value = Array("{\"ts\": 1}".utf8)
        try value.withUnsafeBytes { v in
            for i in 0..<300 {
                let partition = Int32(i % 3 == 0 ? 1 : 0)
                try writer.append(
                    topic: "predictions", partition: partition, offset: 100 + Int64(i), timestamp: 1_764_150_000_000 + Int64(i) * 1000,
                    key: nil, value: v, headers: [])
            }
        }
        try writer.close()
    }

    @Test func recording() throws {
        try record(scratch.file("r.drr"))
        let r = try json(scratch.file("r.drr"))
        #expect(r["kind"] as? String == "recording")
        #expect(r["compressed"] as? Bool == true)
        #expect(r["messages"] as? Int == 300)
        #expect(r["assignments"] as? Int == 1)
        #expect(r["ended_cleanly"] as? Bool == true)
        #expect(r["first_timestamp"] as? String == TimestampFormat.rfc3339Milliseconds(1_764_150_000_000 * 1000))
        #expect(r["last_timestamp"] as? String == TimestampFormat.rfc3339Milliseconds((1_764_150_000_000 + 299_000) * 1000))
        let partitions = try #require(r["partitions"] as? [[String: Any]])
        #expect(partitions.map { $0["partition"] as? Int } == [0, 1])
        #expect(partitions.map { $0["messages"] as? Int } == [200, 100])
        #expect(partitions.map { $0["first_offset"] as? Int } == [101, 100])
        #expect(partitions.map { $0["last_offset"] as? Int } == [399, 397])

        // The same recording uncompressed, and one whose recorder was killed (no end entry).
        let plain = try Zstd.decompress([UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("r.drr")))))
        try Data(plain).write(to: URL(fileURLWithPath: scratch.file("plain.drr")))
        let u = try json(scratch.file("plain.drr"))
        #expect(u["compressed"] as? Bool == false && u["messages"] as? Int == 300 && u["ended_cleanly"] as? Bool == true)
        try Data(plain.prefix(plain.count - 30)).write(to: URL(fileURLWithPath: scratch.file("killed.drr")))
        let k = try json(scratch.file("killed.drr"))
        #expect(k["messages"] as? Int == 299 && k["ended_cleanly"] as? Bool == false && k["truncated"] as? Bool == true)
    }

    @Test func unknownEmptyAndDamagedFilesAreOneLineErrorsNamingTheFile() throws {
        try Data("{\"ts\": 1}\n".utf8).write(to: URL(fileURLWithPath: scratch.file("events.ndjson")))
        try Data().write(to: URL(fileURLWithPath: scratch.file("empty")))
        try Data(try Zstd.compress(Array("hello".utf8), level: 3)).write(to: URL(fileURLWithPath: scratch.file("hello.zst")))
        try Data("DRFTSNAP and then nothing useful".utf8).write(to: URL(fileURLWithPath: scratch.file("short.drs")))
        for name in ["events.ndjson", "empty", "hello.zst", "short.drs", "absent"] {
            let error = try #require(throws: FileError.self) { _ = try FileInspection.inspect(path: scratch.file(name)) }
            #expect(error.message.contains(scratch.file(name)), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }
}
