import DriftCore
import DriftEngine
import DriftStats
import Foundation
import Testing

/// Paths of the committed fixtures.
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

struct ReplayGolden: Decodable {
    struct Result: Decodable {
        let window_start_us: Int64
        let feature: String
        let kind: String
        let count: Int
        let psi: Double?
        let js_distance: Double?
        let ks_exact_statistic: Double?
        let ks_binned_statistic: Double?
        let ks_pvalue: Double?
        let wasserstein_exact: Double?
        let mean: Double?
        let std: Double?
        let chi2_pvalue: Double?
        let new_category_rate: Double?
    }
    let lines: Int
    let rejected: Int
    let late: Int
    let accepted_in_windows: Int
    let drift_starts_us: Int64
    let results: [Result]
}

/// Builds the example profile once and replays the example stream once for the suite.
struct ReplayRun {
    let config: DriftlineConfig
    let summary: ReplaySummary
    let records: [[String: Any]]
    let resultsText: String
    let deadLetters: [[String: Any]]

    static func make(scratch: ScratchDirectory) throws -> ReplayRun {
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        let profilePath = scratch.file("reference.drp")
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: profilePath)
        config.reference.profile = profilePath
        let replay = try Replay(config: config, profile: try config.loadProfile())
        var options = Replay.Options()
        options.resultsPath = scratch.file("results.jsonl")
        options.deadLetterPath = scratch.file("dead.ndjson")
        let summary = try replay.run(inputs: [Fixture.path("traffic/stream.ndjson.zst")], options: options)
        let text = try String(contentsOfFile: options.resultsPath!, encoding: .utf8)
        let records = try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let dead = try String(contentsOfFile: options.deadLetterPath!, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        return ReplayRun(config: config, summary: summary, records: records, resultsText: text, deadLetters: dead)
    }
}

@Suite(.serialized) struct ReplayEndToEndTests {
    let scratch: ScratchDirectory
    let run: ReplayRun
    let golden: ReplayGolden

    init() throws {
        scratch = try ScratchDirectory()
        run = try ReplayRun.make(scratch: scratch)
        let data = try Data(contentsOf: Fixture.root.appendingPathComponent("golden/replay_golden.json"))
        golden = try JSONDecoder().decode(ReplayGolden.self, from: data)
    }

    @Test func everyLineIsAccountedFor() {
        let s = run.summary
        #expect(s.linesRead == Int64(golden.lines))
        #expect(s.accepted + s.rejected == s.linesRead)
        #expect(s.rejected == Int64(golden.rejected))
        #expect(s.late == Int64(golden.late))
        #expect(run.deadLetters.count == golden.rejected + golden.late)
        let reasons = Set(run.deadLetters.compactMap { $0["reason"] as? String })
        #expect(reasons == ["not_a_number", "missing_timestamp", "malformed_json", "invalid_timestamp", "number_out_of_range", "late"])
    }

    /// A late event's dead letter holds its line as it was read, not only its position.
    @Test func lateEventsKeepTheirText() throws {
        let source = try ByteSource(path: Fixture.path("traffic/stream.ndjson.zst"))
        var bytes: [UInt8] = []
        while try source.read(appendingTo: &bytes) {}
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let late = run.deadLetters.filter { $0["reason"] as? String == "late" }
        #expect(late.count == golden.late && late.count > 0)
        for d in late {
            let position = try #require(d["position"] as? Int)
            #expect(d["raw"] as? String == lines[position - 1], "line \(position)")
        }
    }

    @Test func windowsAfterTheInjectedDriftDriftAndTheOnesBeforeDoNot() throws {
        let datasets = run.records.filter { $0["kind"] as? String == "dataset" }
        var before = 0, after = 0
        for d in datasets where (d["count"] as! Int) >= run.config.drift.minCount {
            let start = try #require(ISO8601DateFormatter.withFractions.date(from: d["window_start"] as! String))
            let startUs = Int64(start.timeIntervalSince1970 * 1e6)
            if startUs + 300_000_000 <= golden.drift_starts_us {
                #expect(d["drift"] as? Bool == false, "window \(d["window_start"]!) drifted before the injected drift")
                before += 1
            } else if startUs >= golden.drift_starts_us {
                #expect(d["drift"] as? Bool == true, "window \(d["window_start"]!) did not drift after the injected drift")
                after += 1
            }
        }
        #expect(before >= 10 && after >= 10)
    }

    @Test func metricsEqualScipyForTheSameWindowMembership() throws {
        var byKey: [String: [String: Any]] = [:]
        for r in run.records where r["kind"] as? String != "dataset" {
            byKey["\(r["window_start"]!)|\(r["feature"]!)"] = r
        }
        #expect(byKey.count == golden.results.count)
        for g in golden.results {
            let start = TimestampFormat.rfc3339Milliseconds(g.window_start_us)
            let r = try #require(byKey["\(start)|\(g.feature)"], "no record for \(start) \(g.feature)")
            #expect(r["count"] as? Int == g.count)
            let what = "\(start) \(g.feature)"
            expectRelative(r["psi"], g.psi, 1e-9, "psi \(what)")
            expectRelative(r["js_distance"], g.js_distance, 1e-9, "js \(what)")
            if g.kind == "numeric" {
                expectRelative(r["mean"], g.mean, 1e-9, "mean \(what)")
                expectRelative(r["std"], g.std, 1e-9, "std \(what)")
                expectRelative(r["ks_statistic"], g.ks_binned_statistic, 1e-12, "D_B \(what)")
                expectRelative(r["ks_pvalue"], g.ks_pvalue, 1e-6, "ks p \(what)")
                let d = try #require(r["ks_statistic"] as? Double), bound = try #require(r["ks_error_bound"] as? Double)
                let exact = try #require(g.ks_exact_statistic)
                #expect(d <= exact + 1e-12 && exact <= d + bound + 1e-12, "KS \(what)")
                let w = try #require(r["wasserstein"] as? Double), wb = try #require(r["wasserstein_error_bound"] as? Double)
                let we = try #require(g.wasserstein_exact)
                #expect(w <= we * (1 + 1e-9) && we <= (w + wb) * (1 + 1e-9), "Wasserstein \(what)")
            } else {
                expectRelative(r["chi2_pvalue"], g.chi2_pvalue, 1e-9, "chi2 \(what)")
                expectRelative(r["new_category_rate"], g.new_category_rate, 1e-12, "new categories \(what)")
            }
        }
    }

    @Test func batchSizesAndFileSplitsGiveByteIdenticalResults() throws {
        // The same stream cut into several files (so into other batches) and replayed as one.
        let lines = try decompressedLines(Fixture.path("traffic/stream.ndjson.zst"))
        var parts: [String] = []
        var offset = 0
        for (i, size) in [1, 333, 4097, 10_000].enumerated() {
            let path = scratch.file("part\(i).ndjson")
            try (lines[offset..<min(offset + size, lines.count)].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            parts.append(path)
            offset += size
        }
        let last = scratch.file("part-last.ndjson")
        try (lines[offset...].joined(separator: "\n") + "\n").write(toFile: last, atomically: true, encoding: .utf8)
        parts.append(last)
        let replay = try Replay(config: run.config, profile: try run.config.loadProfile())
        var options = Replay.Options()
        options.resultsPath = scratch.file("split-results.jsonl")
        _ = try replay.run(inputs: parts, options: options)
        let split = try String(contentsOfFile: options.resultsPath!, encoding: .utf8)
        #expect(split == run.resultsText)
    }

    /// The decoder's fast paths (learned `"key":` patterns, word-at-a-time numbers, cached
    /// strings) must give what the full scan gives: the same stream written differently
    /// (spaces around colons and commas, CR LF, escaped letters in keys and strings,
    /// numbers with exponents or a fraction, an extra unconfigured member with a long key)
    /// must give byte-identical results. Lines that are not valid JSON stay as they are.
    @Test func rewrittenJSONGivesByteIdenticalResults() throws {
        var state: UInt64 = 2026
        func random() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        func rewrite(_ line: String) -> String {
            let bytes = Array(line.utf8)
            var out = ""
            var k = 0
            let spaced = random() < 0.3
            while k < bytes.count {
                let b = bytes[k]
                if b == UInt8(ascii: "\"") {
                    var j = k + 1
                    while bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                    out += "\""
                    for c in bytes[(k + 1)..<j] {
                        let letter = (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A)
                        out += letter && random() < 0.2 ? String(format: "\\u%04x", c) : String(UnicodeScalar(c))
                    }
                    out += "\""
                    k = j + 1
                } else if b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) {
                    var j = k
                    while j < bytes.count, "0123456789.eE+-".utf8.contains(bytes[j]) { j += 1 }
                    let number = String(decoding: bytes[k..<j], as: UTF8.self)
                    let r = random()
                    if r < 0.15 {
                        out += number + (number.contains(".") ? "e0" : ".0")
                    } else if r < 0.25 && number.contains(".") {
                        out += number + "E+00"
                    } else {
                        out += number
                    }
                    k = j
                } else {
                    if spaced && (b == UInt8(ascii: ":") || b == UInt8(ascii: ",")) {
                        out += " " + String(UnicodeScalar(b)) + " "
                    } else {
                        out += String(UnicodeScalar(b))
                    }
                    if b == UInt8(ascii: "{") && random() < 0.05 {
                        out += #""an_unconfigured_key_longer_than_any_pattern":[1,{"a":"b"}],"#
                    }
                    k += 1
                }
            }
            return out
        }
        var rewritten = ""
        var changed = 0
        for line in try decompressedLines(Fixture.path("traffic/stream.ndjson.zst")) {
            let valid = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil
            let text = valid ? rewrite(line) : line
            if text != line { changed += 1 }
            rewritten += text + (random() < 0.05 ? "\r\n" : "\n")
        }
        #expect(changed > 20_000)
        let path = scratch.file("rewritten.ndjson")
        try rewritten.write(toFile: path, atomically: true, encoding: .utf8)
        let replay = try Replay(config: run.config, profile: try run.config.loadProfile())
        var options = Replay.Options()
        options.resultsPath = scratch.file("rewritten-results.jsonl")
        _ = try replay.run(inputs: [path], options: options)
        #expect(try String(contentsOfFile: options.resultsPath!, encoding: .utf8) == run.resultsText)
    }

    func decompressedLines(_ path: String) throws -> [String] {
        let source = try ByteSource(path: path)
        var bytes: [UInt8] = []
        while try source.read(appendingTo: &bytes) {}
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

func expectRelative(_ actual: Any?, _ expected: Double?, _ tolerance: Double, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let a = actual as? Double ?? (actual as? Int).map(Double.init)
    switch (a, expected) {
    case (nil, nil): return
    case let (a?, e?):
        let rel = a == e ? 0 : abs(a - e) / max(abs(a), abs(e))
        #expect(rel <= tolerance, "\(what): \(a) vs \(e)", sourceLocation: sourceLocation)
    default:
        Issue.record("\(what): \(String(describing: a)) vs \(String(describing: expected))", sourceLocation: sourceLocation)
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
