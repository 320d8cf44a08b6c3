import DriftCore
@testable import DriftEngine
import Foundation
import Testing

@Suite struct ReplayInputTests {
    static let yaml = """
        input:
          timestamp: ts
          numeric: [x]
          categorical: [c]
        reference:
          from_stream: 10m
        window:
          size: 1m
          slide: 1m
          lateness: 0s
        drift:
          psi: 0.2
          min_count: 50
        """

    /// Ten events per second for `minutes` from a minute boundary, x uniform in
    /// [shift, shift+1) (shifted from minute `shiftAfter`), c cycling. Seeded.
    func ndjson(minutes: Int, shiftAfter: Int, shift: Double) -> String {
        var lines: [String] = []
        var state: UInt64 = 42
        for i in 0..<(minutes * 600) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let u = Double(state >> 11) * 0x1p-53
            let x = u + (i >= shiftAfter * 600 ? shift : 0)
            let ms = 1_699_999_980_000 + Int64(i) * 100
            lines.append(#"{"ts": \#(ms), "x": \#(x), "c": "\#(["a", "b", "c"][i % 3])"}"#)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func streamReferenceUsesTheFirstStretchOfEventTime() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("in.ndjson")
        try ndjson(minutes: 30, shiftAfter: 20, shift: 3).write(toFile: input, atomically: true, encoding: .utf8)
        let config = try DriftlineConfig(yaml: ReplayInputTests.yaml)
        let replay = try Replay(config: config, profile: nil)
        var options = Replay.Options()
        options.resultsPath = scratch.file("results.jsonl")
        let summary = try replay.run(inputs: [input], options: options)
        #expect(summary.accepted == 18_000)
        #expect(summary.referenceEvents == 6_000)
        let records = try String(contentsOfFile: options.resultsPath!, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let datasets = records.filter { $0["kind"] as? String == "dataset" }
        // 20 one-minute windows after the 10-minute reference; drift from minute 20 on.
        #expect(datasets.count == 20)
        let drifted = datasets.map { $0["drift"] as! Bool }
        #expect(drifted == Array(repeating: false, count: 10) + Array(repeating: true, count: 10))
    }

    /// Events from a broken clock (more than `max_future_skew` ahead) are rejected before the
    /// stream reference sees them: they neither start its period nor end it early.
    @Test func futureEventsDoNotMoveTheStreamReference() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("in.ndjson")
        var lines = ndjson(minutes: 30, shiftAfter: 20, shift: 3).split(separator: "\n").map(String.init)
        let future = Int64(Date().timeIntervalSince1970 * 1000) + 10 * 86_400_000
        lines.insert(#"{"ts": \#(future), "x": 0.5, "c": "a"}"#, at: 3_000)
        lines.insert(#"{"ts": \#(future), "x": 0.5, "c": "a"}"#, at: 0)
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        var options = Replay.Options()
        options.resultsPath = scratch.file("results.jsonl")
        options.deadLetterPath = scratch.file("dead.ndjson")
        let summary = try Replay(config: try DriftlineConfig(yaml: ReplayInputTests.yaml), profile: nil).run(inputs: [input], options: options)
        #expect(summary.rejectedByReason == [.futureTimestamp: 2] && summary.accepted == 18_000)
        #expect(summary.referenceEvents == 6_000)
        let dead = try String(contentsOfFile: scratch.file("dead.ndjson"), encoding: .utf8).split(separator: "\n")
        #expect(dead.count == 2 && dead.allSatisfy { $0.contains(#""reason":"future_timestamp""#) })
        let datasets = try String(contentsOfFile: options.resultsPath!, encoding: .utf8).split(separator: "\n").compactMap {
            let record = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            return record["kind"] as? String == "dataset" ? record["drift"] as! Bool : nil
        }
        #expect(datasets == Array(repeating: false, count: 10) + Array(repeating: true, count: 10))
    }

    /// The stream reference is frozen at the event that moves the watermark past its end, so
    /// out-of-order events around that moment go to the reference, the windows or the late
    /// events the same way however the input is cut into files (and so into batches).
    @Test func streamReferenceIsTheSameWhereverTheInputIsCut() throws {
        let scratch = try ScratchDirectory()
        // Event times jittered by up to ±40 s around their order, with 30 s of lateness.
        var state: UInt64 = 7
        var lines: [String] = []
        for line in ndjson(minutes: 16, shiftAfter: 12, shift: 3).split(separator: "\n") {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let jitter = Int64(state >> 33) % 80_001 - 40_000
            let ms = Int64(line.split(separator: ",")[0].dropFirst(7))!
            lines.append(line.replacingOccurrences(of: "\(ms)", with: "\(ms + jitter)"))
        }
        let config = try DriftlineConfig(yaml: ReplayInputTests.yaml.replacingOccurrences(of: "lateness: 0s", with: "lateness: 30s"))
        func replay(cuts: [Int]) throws -> (results: String, summary: ReplaySummary) {
            var paths: [String] = []
            var from = 0
            for (k, to) in (cuts + [lines.count]).enumerated() {
                let path = scratch.file("part-\(cuts.count)-\(k).ndjson")
                try (lines[from..<to].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                paths.append(path)
                from = to
            }
            var options = Replay.Options()
            options.resultsPath = scratch.file("results-\(cuts.count)-\(cuts.first ?? 0).jsonl")
            let summary = try Replay(config: config, profile: nil).run(inputs: paths, options: options)
            return (try String(contentsOfFile: options.resultsPath!, encoding: .utf8), summary)
        }
        let whole = try replay(cuts: [])
        #expect(whole.summary.referenceEvents > 5_000 && whole.summary.late > 0, "\(whole.summary.referenceEvents) reference events, \(whole.summary.late) late")
        for cuts in [[6_300], [6_180, 6_181, 6_182, 6_250], Array(stride(from: 97, to: lines.count, by: 97))] {
            let cut = try replay(cuts: cuts)
            #expect(cut.results == whole.results, "cut at \(cuts.prefix(4))")
            #expect(cut.summary.referenceEvents == whole.summary.referenceEvents)
            #expect(cut.summary.late == whole.summary.late && cut.summary.accepted == whole.summary.accepted)
        }
    }

    @Test func csvInputWithQuotedFieldsAndMissingValues() throws {
        let scratch = try ScratchDirectory()
        var csv = "c,ts,x,unused\n"
        for s in 0..<600 {
            let c = s % 7 == 0 ? "" : "\"v,\(s % 3)\""
            let x = s % 11 == 0 ? "" : String(Double(s % 100) / 10)
            csv += "\(c),\(1_700_000_000_000 + Int64(s) * 1000),\(x),zzz\n"
        }
        csv += "a,1700000600000,not-a-number,z\n"
        csv += "a,1700000600000,1 2,z\n"
        csv += "a,1700000600000,1e999,z\n"
        csv += "a,1700000600000,1\n"
        let path = scratch.file("ref.csv")
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        var config = try DriftlineConfig(yaml: ReplayInputTests.yaml.replacingOccurrences(of: "from_stream: 10m", with: "profile: p.drp"))
        config.configDirectory = scratch.path
        let dead = scratch.file("dead.ndjson")
        let summary = try ProfileBuild.run(config: config, inputs: [path], output: scratch.file("p.drp"), deadLetterPath: dead)
        #expect(summary.accepted == 600)
        #expect(summary.rejectedByReason == [.notANumber: 2, .numberOutOfRange: 1, .wrongFieldCount: 1])
        #expect(summary.linesRead == 605 && summary.headerLines == 1)  // header + 600 rows + 4 bad rows
        #expect(summary.render(output: "p.drp").contains("\nlines 605: accepted 600, rejected 4, csv header 1\n"))
        let profile = try #require(try config.loadProfile())
        let reference = profile.reference(forModel: "default")
        #expect(reference.numeric[0].missing == 55)  // every 11th of 600 rows
        #expect(reference.categorical[0].dictionary.categories.sorted() == ["v,0", "v,1", "v,2"])
        #expect(reference.categorical[0].counts.missing == 86)  // every 7th
    }

    @Test func strictModeStopsAtTheFirstBadEvent() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("in.ndjson")
        try (ndjson(minutes: 2, shiftAfter: 99, shift: 0) + "{\"ts\": 1700000200000, \"x\": \"oops\"}\n").write(toFile: input, atomically: true, encoding: .utf8)
        let replay = try Replay(config: try DriftlineConfig(yaml: ReplayInputTests.yaml), profile: nil)
        var options = Replay.Options()
        options.strict = true
        options.deadLetterPath = scratch.file("dead.ndjson")
        #expect(throws: StrictModeStop.self) {
            _ = try replay.run(inputs: [input], options: options)
        }
        // The stop still leaves the offending event in the dead letters.
        let dead = try String(contentsOfFile: scratch.file("dead.ndjson"), encoding: .utf8)
        #expect(dead.split(separator: "\n").count == 1 && dead.contains(#""position":1201,"reason":"not_a_number""#), "\(dead)")
        options.strict = false
        options.deadLetterPath = nil
        let summary = try replay.run(inputs: [input], options: options)
        #expect(summary.rejectedByReason == [.notANumber: 1])
    }

    @Test func overlongLinesAreRejectedWithoutBufferingThem() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("long.ndjson")
        let long = #"{"ts": 1700000000, "x": 1, "pad": ""# + String(repeating: "y", count: 3 << 20) + "\"}"
        try ([long] + (0..<5).map { #"{"ts": \#(1_700_000_000 + $0), "x": 1, "c": "a"}"# }).joined(separator: "\n")
            .write(toFile: input, atomically: true, encoding: .utf8)
        let reader = try EventReader(path: input, schema: EventSchema(timestamp: "ts", numeric: ["x"], categorical: ["c"]))
        var batch = EventBatch(numericCount: 1, categoricalCount: 1)
        var rejections: [(Int64, RejectReason, Int)] = []
        while try reader.next(into: &batch, reject: { rejections.append(($0.position, $0.reason, $0.raw.count)) }) {}
        #expect(rejections.count == 1)
        #expect(rejections.first?.0 == 1 && rejections.first?.1 == .lineTooLong)
        #expect((rejections.first?.2 ?? .max) <= 1024)
        #expect(batch.count == 5)
        #expect(batch.positions == [2, 3, 4, 5, 6])
        #expect(reader.accepted + reader.rejected == reader.linesRead)
    }

    @Test func emptyAndForeignFilesAreAccountedFor() throws {
        let scratch = try ScratchDirectory()
        let empty = scratch.file("empty.ndjson")
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let binary = scratch.file("data.ndjson")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: URL(fileURLWithPath: binary))
        let array = scratch.file("array.json")
        try "[{\"ts\": 1700000000000, \"x\": 1}]\n[1, 2]\n".write(toFile: array, atomically: true, encoding: .utf8)
        let good = scratch.file("good.ndjson")
        try ndjson(minutes: 1, shiftAfter: 99, shift: 0).write(toFile: good, atomically: true, encoding: .utf8)
        let config = try DriftlineConfig(yaml: ReplayInputTests.yaml)
        let replay = try Replay(config: config, profile: nil)
        let s = try replay.run(inputs: [empty], options: Replay.Options())
        #expect(s.linesRead == 0 && s.accepted == 0)
        #expect(s.warnings == ["\(empty) is empty: no events"])
        // Binary data and a JSON array are not events: every line is rejected with its reason
        // and dead-lettered, and the files after them are read.
        var options = Replay.Options()
        options.deadLetterPath = scratch.file("dead.ndjson")
        let mixed = try replay.run(inputs: [binary, array, good], options: options)
        #expect(mixed.accepted == 600)
        #expect(mixed.linesRead == mixed.accepted + mixed.rejected)
        let dead = try String(contentsOfFile: scratch.file("dead.ndjson"), encoding: .utf8).split(separator: "\n")
        #expect(Int64(dead.count) == mixed.rejected)
        #expect(dead.filter { $0.contains(#""source":"\#(array)""#) }.count == 2)
        #expect(dead.contains { $0.contains(#""source":"\#(binary)""#) })
        #expect(mixed.rejectedByReason[.notAnObject] == 2 && mixed.rejectedByReason[.malformedJSON, default: 0] >= 1)
        #expect(mixed.warnings.count == 2 && mixed.warnings.allSatisfy { $0.contains("is an event (is it NDJSON or CSV") })
        #expect(mixed.warnings.first?.hasPrefix("\(binary): none of its ") == true)
    }

    /// A CSV header in a legacy 8-bit encoding (an Excel export with "température") is
    /// still a CSV header; `profile --strict` keeps the offending row's dead letter.
    @Test func csvInLatin1AndProfileStrictDeadLetters() throws {
        let scratch = try ScratchDirectory()
        let csv = scratch.file("latin1.csv")
        var bytes = Array("ts,x,c,temp".utf8) + [0xE9] + Array("rature\n".utf8)
        for k in 0..<50 { bytes += Array("\(1_700_000_000_000 + k),\(k),a,20\n".utf8) }
        bytes += Array("1700000100000,oops,a,20\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: csv))
        let config = try DriftlineConfig(yaml: ReplayInputTests.yaml.replacingOccurrences(of: "from_stream: 10m", with: "profile: p.drp"))
        let summary = try ProfileBuild.run(config: config, inputs: [csv], output: scratch.file("p.drp"))
        #expect(summary.accepted == 50 && summary.headerLines == 1 && summary.rejectedByReason == [.notANumber: 1])
        #expect(throws: StrictModeStop.self) {
            _ = try ProfileBuild.run(
                config: config, inputs: [csv], output: scratch.file("q.drp"), deadLetterPath: scratch.file("dead.ndjson"), strict: true)
        }
        let dead = try String(contentsOfFile: scratch.file("dead.ndjson"), encoding: .utf8)
        #expect(dead.split(separator: "\n").count == 1 && dead.contains(#""position":52,"reason":"not_a_number""#), "\(dead)")
    }

    /// A training export whose column is named differently from the config: the profile is
    /// built, and says which feature no input had a value for.
    @Test func profileWarnsOfFeaturesNoInputHas() throws {
        let scratch = try ScratchDirectory()
        let csv = scratch.file("train.csv")
        var text = "ts,x,country\n"
        for k in 0..<100 { text += "\(1_700_000_000_000 + k),\(Double(k) / 10),c\(k % 3)\n" }
        try text.write(toFile: csv, atomically: true, encoding: .utf8)
        let config = try DriftlineConfig(yaml: ReplayInputTests.yaml.replacingOccurrences(of: "from_stream: 10m", with: "profile: p.drp"))
        let summary = try ProfileBuild.run(config: config, inputs: [csv], output: scratch.file("p.drp"))
        #expect(summary.accepted == 100)
        #expect(summary.warnings == ["c: no input has a value for it (is the path or CSV column name right?)"])
        #expect(summary.render(output: "p.drp").hasSuffix("\nwarning: c: no input has a value for it (is the path or CSV column name right?)"))
        try text.replacingOccurrences(of: "country", with: "c").write(toFile: csv, atomically: true, encoding: .utf8)
        #expect(try ProfileBuild.run(config: config, inputs: [csv], output: scratch.file("p.drp")).warnings.isEmpty)
    }

    /// `input.max_event_bytes` and `input.max_depth` set the decoder's limits for replay (and
    /// so for `profile`, `run` and recordings, which take them from the same config).
    @Test func eventLimitsComeFromTheConfig() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("in.ndjson")
        let lines = [
            #"{"ts": 1700000000000, "x": 1, "c": "a"}"#,
            #"{"ts": 1700000001000, "x": 2, "c": "a", "pad": "\#(String(repeating: "p", count: 80))"}"#,
            #"{"ts": 1700000002000, "x": 3, "c": "a", "deep": {"a": {"b": [1]}}}"#,
            #"{"ts": 1700000003000, "x": 4, "c": "a", "deep": {"a": [1]}}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let yaml = ReplayInputTests.yaml.replacingOccurrences(of: "  categorical: [c]\n", with: "  categorical: [c]\n  max_event_bytes: 100\n  max_depth: 3\n")
        let config = try DriftlineConfig(yaml: yaml)
        #expect(config.limits == DecoderLimits(maxDepth: 3, maxEventBytes: 100))
        let summary = try Replay(config: config, profile: nil).run(inputs: [input], options: Replay.Options())
        #expect(summary.accepted == 2 && summary.rejectedByReason == [.lineTooLong: 1, .nestingTooDeep: 1])
        let defaults = try Replay(config: try DriftlineConfig(yaml: ReplayInputTests.yaml), profile: nil)
        #expect(try defaults.run(inputs: [input], options: Replay.Options()).accepted == 4)
        for (key, value) in [("max_event_bytes", "10"), ("max_depth", "1"), ("max_event_bytes", "big")] {
            #expect {
                _ = try DriftlineConfig(yaml: ReplayInputTests.yaml.replacingOccurrences(of: "  categorical: [c]\n", with: "  categorical: [c]\n  \(key): \(value)\n"))
            } throws: { error in
                String(describing: error).contains("input.\(key)")
            }
        }
    }

    /// `--speed`: each event is due when event time, run `speed` times faster from the first
    /// event on, reaches it (checked on chosen instants, not on the wall clock).
    @Test func pacerSchedulesEventTime() {
        var pacer = Pacer(speed: 600)
        let t0 = ContinuousClock.now
        #expect(pacer.due(1_700_000_000_000_000, now: t0) == t0)
        // 12 minutes of event time at 600×: 1.2 s after the first event, whenever it is asked.
        #expect(pacer.due(1_700_000_720_000_000, now: t0 + .seconds(5)) == t0 + .milliseconds(1_200))
        #expect(pacer.due(1_699_999_994_000_000, now: t0) == t0 - .milliseconds(10))
        var slow = Pacer(speed: 0.5)
        #expect(slow.due(2_000_000, now: t0) == t0 && slow.due(3_000_000, now: t0) == t0 + .seconds(2))
    }

    /// A paced replay gives the unpaced results.
    @Test func pacedReplayGivesTheSameResults() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("in.ndjson")
        try ndjson(minutes: 12, shiftAfter: 99, shift: 0).write(toFile: input, atomically: true, encoding: .utf8)
        let replay = try Replay(config: try DriftlineConfig(yaml: ReplayInputTests.yaml), profile: nil)
        var options = Replay.Options()
        options.resultsPath = scratch.file("max.jsonl")
        _ = try replay.run(inputs: [input], options: options)
        options.resultsPath = scratch.file("paced.jsonl")
        options.speed = 100_000
        #expect(try replay.run(inputs: [input], options: options).accepted == 7_200)
        #expect(try String(contentsOfFile: scratch.file("paced.jsonl"), encoding: .utf8) == String(contentsOfFile: scratch.file("max.jsonl"), encoding: .utf8))
    }

    @Test func aCSVHeaderWithoutTheConfiguredColumnsIsAOneLineError() throws {
        let scratch = try ScratchDirectory()
        let csv = scratch.file("other.csv")
        try "when,amount\n1700000000000,1\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let replay = try Replay(config: try DriftlineConfig(yaml: ReplayInputTests.yaml), profile: nil)
        #expect {
            _ = try replay.run(inputs: [csv], options: Replay.Options())
        } throws: { error in
            let text = String(describing: error)
            return text.contains(csv) && text.contains("ts") && !text.contains("\n")
        }
    }
}
