import DriftStats
import Testing

@testable import DriftCore

/// Builds batches of one numeric and one categorical feature by hand.
struct BatchMaker {
    static let schema = EventSchema(timestamp: "ts", model: "model", numeric: ["x"], categorical: ["c"])

    static func batch(_ events: [(t: Int64, model: String?, x: Double, c: String?)]) -> EventBatch {
        var b = EventBatch(numericCount: 1, categoricalCount: 1)
        for (i, e) in events.enumerated() {
            b.timestamps.append(e.t)
            b.positions.append(Int64(i + 1))
            b.numeric[0].append(e.x)
            b.models.append(append(e.model, to: &b))
            b.categorical[0].append(append(e.c, to: &b))
        }
        return b
    }

    static func append(_ s: String?, to b: inout EventBatch) -> EventBatch.ByteRange {
        guard let s else { return .missing }
        let start = UInt32(b.bytes.count)
        b.bytes.append(contentsOf: Array(s.utf8))
        return EventBatch.ByteRange(start: start, count: UInt32(s.utf8.count))
    }

    static func profile() -> ReferenceProfile {
        var builder = ReferenceBuilder(schema: schema, binning: BinningSettings(psiBins: 4, ksBins: 20, topK: 3))
        builder.add(batch((0..<400).map { i in (t: 0, model: "m", x: Double(i % 40), c: ["a", "b", "c", "d"][i % 4]) }))
        return builder.build()
    }
}

@Suite struct WindowAggregatorTests {
    let second: Int64 = 1_000_000

    @Test func tumblingWindowsAlignToTheEpochAndCloseWhenTheWatermarkPasses() throws {
        let spec = try #require(WindowSpec(size: 60 * second, slide: 60 * second, lateness: 10 * second))
        var agg = WindowAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
        var late: [Int] = []
        agg.add(BatchMaker.batch([
            (t: 5 * second, model: "m", x: 1, c: "a"),
            (t: 59 * second, model: "m", x: 2, c: "b"),
            (t: 65 * second, model: "m", x: 3, c: "z"),
        ])) { late.append($0) }
        // Watermark 55 s: nothing closed yet.
        #expect(agg.watermark == 55 * second)
        #expect(agg.closeReady().isEmpty)
        agg.add(BatchMaker.batch([
            (t: 71 * second, model: "m", x: 4, c: "a"),  // watermark 61 s closes [0, 60)
            (t: 58 * second, model: "m", x: 5, c: "a"),  // older than the watermark: late
            (t: 62 * second, model: "m", x: 6, c: nil),
        ])) { late.append($0) }
        #expect(late == [1])
        #expect(agg.lateEvents == 1)
        let closed = agg.closeReady()
        #expect(closed.map(\.start) == [0])
        #expect(closed.first?.events == 2)
        #expect(closed.first?.end == 60 * second)
        let rest = agg.closeAll()
        #expect(rest.map(\.start) == [60 * second])
        #expect(rest.first?.events == 3)
        guard case .categorical(let c)? = rest.first?.results.first(where: { $0.feature == "c" })?.metrics else {
            Issue.record("no categorical result")
            return
        }
        #expect(c.count == 2 && c.missing == 1)
        #expect(c.newCategoryRate == 0.5)  // "z" is new
    }

    @Test func hoppingWindowsCountEveryEventInSizeOverSlideWindows() throws {
        let spec = try #require(WindowSpec(size: 30 * second, slide: 10 * second, lateness: 0))
        var agg = WindowAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
        agg.add(BatchMaker.batch((0..<60).map { (t: Int64($0) * second, model: "m", x: Double($0), c: "a") })) { _ in }
        let windows = agg.closeAll()
        // Windows start every 10 s from -20 s (covering t = 0) to 50 s.
        #expect(windows.map(\.start) == stride(from: -20, through: 50, by: 10).map { Int64($0) * second })
        for w in windows {
            let expected = (0..<60).filter { Int64($0) * second >= w.start && Int64($0) * second < w.end }.count
            #expect(w.events == expected)
        }
        #expect(WindowSpec(size: 30 * second, slide: 7 * second, lateness: 0) == nil)
    }

    @Test func negativeEventTimesFloorToTheirWindow() throws {
        let spec = try #require(WindowSpec(size: 60 * second, slide: 60 * second, lateness: 0))
        #expect(spec.newestWindowIndex(containing: -1) == -1)
        #expect(spec.newestWindowIndex(containing: -60 * second) == -1)
        #expect(spec.newestWindowIndex(containing: -60 * second - 1) == -2)
        #expect(spec.newestWindowIndex(containing: 0) == 0)
    }

    @Test func modelsGetTheirOwnWindowsInNameOrder() throws {
        let spec = try #require(WindowSpec(size: 60 * second, slide: 60 * second, lateness: 0))
        var agg = WindowAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
        agg.add(BatchMaker.batch([
            (t: 1, model: "zeta", x: 1, c: "a"), (t: 2, model: nil, x: 1, c: "a"), (t: 3, model: "alpha", x: 1, c: "a"),
            (t: 4, model: "zeta", x: 1, c: "a"),
        ])) { _ in }
        let windows = agg.closeAll()
        #expect(windows.map(\.model) == ["alpha", "default", "zeta"])
        #expect(windows.map(\.events) == [1, 1, 2])
    }

    @Test func driftDecisionHonoursMinimumCountAndBothRules() {
        let d = DriftDecision(psi: 0.2, pValue: 0.01, minCount: 100)
        #expect(!d.drifted(count: 99, psi: 5, pValue: 0))
        #expect(d.drifted(count: 100, psi: 0.2, pValue: nil))
        #expect(d.drifted(count: 100, psi: 0.1, pValue: 0.001))
        #expect(!d.drifted(count: 100, psi: 0.1, pValue: 0.01))
        #expect(!DriftDecision(psi: nil, pValue: nil, minCount: 0).drifted(count: 5, psi: 9, pValue: 0))
    }
}

@Suite struct ProfileFileTests {
    @Test func roundTripsBitForBit() throws {
        let profile = BatchMaker.profile()
        let bytes = try profile.fileBytes()
        #expect(FileContainer.kind(ofPrefix: bytes) == .profile)
        let back = try ReferenceProfile(fileBytes: bytes)
        #expect(back == profile)
        #expect(try back.fileBytes() == bytes)
    }

    @Test func corruptionTruncationAndForeignFilesAreRefused() throws {
        let bytes = try BatchMaker.profile().fileBytes()
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        let cases: [([UInt8], String)] = [
            ([], "empty file"),
            (Array(bytes.prefix(20)), "too short"),
            (Array(bytes.prefix(bytes.count - 7)), "damaged or truncated"),
            (flipped, "corrupt"),
            (Array("{\"ts\": 1}\n".utf8) + [UInt8](repeating: 0, count: 40), "not a reference profile"),
        ]
        for (input, reason) in cases {
            #expect {
                _ = try ReferenceProfile(fileBytes: input)
            } throws: { error in
                String(describing: error).contains(reason)
            }
        }
        var newer = bytes
        newer[8] = 9  // major version 9
        #expect {
            _ = try ReferenceProfile(fileBytes: newer)
        } throws: { error in
            // The header checksum catches the edit first unless it is recomputed, which a newer writer would do.
            String(describing: error).contains("checksum") || String(describing: error).contains("newer")
        }
    }

    @Test func aNewerMajorVersionIsRefusedWithAClearMessage() throws {
        var w = ByteWriter()
        w.raw(Array("DRFTPROF".utf8))
        w.u8(2); w.u8(0); w.u8(0); w.u8(0)  // major 2, minor 0
        w.u64(0)
        w.u32(0)
        w.u32(CRC32C.checksum(w.bytes))
        #expect {
            _ = try ReferenceProfile(fileBytes: w.bytes)
        } throws: { error in
            String(describing: error).contains("format 2.0 is newer than this driftline reads")
        }
    }

    /// The container of `profile` as the given format version would write it.
    static func container(_ profile: ReferenceProfile, minor: UInt8, extra: [UInt8] = []) throws -> [UInt8] {
        let (_, payload) = try FileContainer.decode(.profile, try profile.fileBytes())
        var w = ByteWriter()
        w.raw(Array("DRFTPROF".utf8))
        w.u8(1); w.u8(0); w.u8(minor); w.u8(0)
        w.u64(UInt64(payload.count + extra.count))
        w.u32(CRC32C.checksum(payload + extra))
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes + (try Zstd.compress(payload + extra))
    }

    @Test func profilesKeepTheReferenceEventTimesPerModel() throws {
        var builder = ReferenceBuilder(schema: BatchMaker.schema, binning: BinningSettings(psiBins: 4, ksBins: 20, topK: 3))
        // Model m: one event a second for 100 s; model n: 3 events over 10 s.
        builder.add(BatchMaker.batch((0...100).map { i in (t: Int64(i) * 1_000_000, model: "m", x: Double(i), c: "a") }))
        builder.add(BatchMaker.batch([0, 5, 10].map { i in (t: Int64(i) * 1_000_000 + 7, model: "n", x: 1, c: "b") }))
        let profile = builder.build()
        #expect(profile.models["m"]?.eventTimes == ReferenceEventTimes(first: 0, last: 100_000_000, events: 101))
        #expect(profile.models["n"]?.eventTimes == ReferenceEventTimes(first: 7, last: 10_000_007, events: 3))
        #expect(profile.pooled.eventTimes == ReferenceEventTimes(first: 0, last: 100_000_000, events: 104))
        // One a second: 60 per minute; 3 events in 10 s: 2 gaps of 5 s, 12 per minute.
        #expect(profile.models["m"]?.eventTimes?.expectedEvents(in: 60_000_000) == 60)
        #expect(profile.models["n"]?.eventTimes?.expectedEvents(in: 60_000_000) == 12)
        #expect(ReferenceEventTimes(first: 5, last: 5, events: 9).expectedEvents(in: 60_000_000) == nil)
        #expect(ReferenceEventTimes(first: 0, last: 9, events: 1).expectedEvents(in: 60_000_000) == nil)

        let bytes = try profile.fileBytes()
        #expect(bytes[10] == 1 && bytes[11] == 0)  // format 1.1
        let back = try ReferenceProfile(fileBytes: bytes)
        #expect(back == profile)
        #expect(back.selecting(schema: BatchMaker.schema).models["n"]?.eventTimes == profile.models["n"]?.eventTimes)

        // Windows carry what the reference's rate gives for their size (60 s here).
        let spec = try #require(WindowSpec(size: 60_000_000, slide: 60_000_000, lateness: 0))
        var agg = WindowAggregator(spec: spec, schema: BatchMaker.schema, profile: back, decision: DriftDecision(minCount: 1))
        agg.add(BatchMaker.batch((0..<30).map { i in (t: Int64(i) * 2_000_000, model: "m", x: 1, c: "a") })) { _ in }
        let w = try #require(agg.closeAll().first)
        #expect(w.expectedEvents == 60 && w.events == 30 && w.volumeRatio == 0.5)
    }

    @Test func aFormat10ProfileLoadsWithoutEventTimesAndKeepsItsFingerprint() throws {
        var old = BatchMaker.profile()
        old.pooled.eventTimes = nil
        for name in old.models.keys { old.models[name]!.eventTimes = nil }
        // A 1.0 file: the same payload as the profile without event times, minor version 0.
        let file = try Self.container(old, minor: 0)
        let loaded = try ReferenceProfile(fileBytes: file)
        #expect(loaded == old)
        #expect(loaded.models.values.allSatisfy { $0.eventTimes == nil })
        #expect(loaded.fingerprint == CRC32C.checksum(try FileContainer.decode(.profile, file).1))
        let spec = try #require(WindowSpec(size: 60_000_000, slide: 60_000_000, lateness: 0))
        var agg = WindowAggregator(spec: spec, schema: BatchMaker.schema, profile: loaded, decision: DriftDecision(minCount: 1))
        agg.add(BatchMaker.batch([(t: 1, model: "m", x: 1, c: "a")])) { _ in }
        #expect(agg.closeAll().first?.volumeRatio == nil)
    }

    @Test func whatANewerMinorVersionAddsIsIgnoredAndOtherwiseRefused() throws {
        let profile = BatchMaker.profile()
        let extra: [UInt8] = [1, 2, 3, 4]
        #expect(try ReferenceProfile(fileBytes: Self.container(profile, minor: 2, extra: extra)) == profile)
        #expect {
            _ = try ReferenceProfile(fileBytes: Self.container(profile, minor: 1, extra: extra))
        } throws: { error in
            String(describing: error).contains("unexpected bytes")
        }
    }

    @Test func mismatchingConfigsNameTheFeature() throws {
        let profile = BatchMaker.profile()
        let binning = profile.binning
        #expect(throws: ProfileMismatch("profile has no numeric feature \"y\"")) {
            try profile.validate(schema: EventSchema(timestamp: "ts", numeric: ["y"], categorical: []), binning: binning)
        }
        #expect(throws: ProfileMismatch("profile has no numeric feature \"c\" (it is categorical there)")) {
            try profile.validate(schema: EventSchema(timestamp: "ts", numeric: ["c"], categorical: []), binning: binning)
        }
        var other = binning
        other.ksBins = 1000
        #expect(throws: ProfileMismatch("profile has 20 KS bins, the config asks for 1000 (reference.ks_bins)")) {
            try profile.validate(schema: BatchMaker.schema, binning: other)
        }
    }
}
