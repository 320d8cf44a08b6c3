import DriftStats
import Foundation
import Testing

@testable import DriftCore
@testable import DriftEngine

/// Mutated state files: the readers beneath the checksums (profile and checkpoint payloads
/// re-wrapped with valid CRCs) and the recording reader must refuse or load, never crash,
/// hang or over-allocate.
@Suite struct FileMutationTests {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    func mutate(_ input: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var b = input
        for _ in 0...rng.below(3) {
            switch rng.below(5) {
            case 0 where !b.isEmpty: b[rng.below(b.count)] ^= UInt8(1 << rng.below(8))
            case 1 where !b.isEmpty:
                // Lengths and counts are little-endian words: make one huge or negative.
                let i = rng.below(b.count)
                for k in i..<min(b.count, i + 8) { b[k] = 0xFF }
            case 2 where !b.isEmpty: b.removeLast(1 + rng.below(min(b.count, 64)))
            case 3 where !b.isEmpty: b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
            default: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(b.count + 1))
            }
        }
        return b
    }

    static func profile() throws -> ReferenceProfile {
        let schema = EventSchema(timestamp: "ts", model: "m", numeric: ["x", "y"], categorical: ["c"])
        var builder = ReferenceBuilder(schema: schema, binning: BinningSettings(psiBins: 4, ksBins: 16, topK: 8))
        var batch = EventBatch(numericCount: 2, categoricalCount: 1)
        for i in 0..<300 {
            batch.timestamps.append(0)
            batch.positions.append(Int64(i))
            batch.numeric[0].append(Double(i % 37))
            batch.numeric[1].append(i % 11 == 0 ? .nan : Double(i) / 7)
            let start = UInt32(batch.bytes.count)
            let name = Array(["a", "b", "c", "d", "e"][i % 5].utf8)
            batch.bytes.append(contentsOf: name)
            batch.categorical[0].append(.init(start: start, count: UInt32(name.count)))
            let m = Array((i % 2 == 0 ? "m1" : "m2").utf8)
            let ms = UInt32(batch.bytes.count)
            batch.bytes.append(contentsOf: m)
            batch.models.append(.init(start: ms, count: UInt32(m.count)))
        }
        builder.add(batch)
        return builder.build()
    }

    @Test func mutatedProfilePayloadsAreRefusedOrLoaded() throws {
        let payload = try Self.profile().payload()
        // All five categories are reference categories: no membership filter, whose
        // words would take most of the bytes (and of the mutations).
        #expect(payload.count < 20_000)
        var rng = Rng(state: 1)
        var refused = 0
        for _ in 0..<3000 {
            let file = try FileContainer.encode(.profile, payload: mutate(payload, &rng))
            do { _ = try ReferenceProfile(fileBytes: file) } catch { refused += 1 }
        }
        #expect(refused > 1000)
        // And the envelope itself: mutated files are refused by checksum.
        let file = try Self.profile().fileBytes()
        for _ in 0..<1000 {
            let bad = mutate(file, &rng)
            if bad != file { #expect(throws: FormatError.self) { _ = try ReferenceProfile(fileBytes: bad) } }
        }
    }

    @Test func mutatedCheckpointsAreRefusedOrLoaded() throws {
        let profile = try Self.profile()
        let schema = EventSchema(timestamp: "ts", model: "m", numeric: ["x", "y"], categorical: ["c"])
        let spec = try #require(WindowSpec(size: 60_000_000, slide: 60_000_000, lateness: 0))
        var aggregator = PartitionedAggregator(spec: spec, schema: schema, profile: profile, decision: DriftDecision())
        var batch = EventBatch(numericCount: 2, categoricalCount: 1)
        for i in 0..<50 {
            batch.timestamps.append(Int64(i) * 1_000_000)
            batch.positions.append(Int64(i))
            batch.numeric[0].append(Double(i))
            batch.numeric[1].append(Double(i) * 2)
            batch.models.append(.missing)
            batch.categorical[0].append(.missing)
        }
        aggregator.add(batch, partition: "t/0") { _ in }
        var w = ByteWriter()
        aggregator.encode(to: &w)
        let checkpoint = Checkpoint(
            sequence: 3, profileFingerprint: 1, settings: "s", positions: ["t/0": 50], aggregates: w.bytes,
            resultsLength: 10, deadLetterLength: nil, counters: ["messages": 50])
        let payload = checkpoint.payload()
        var rng = Rng(state: 2)
        var loaded = 0
        for _ in 0..<3000 {
            let file = try FileContainer.encode(.checkpoint, payload: mutate(payload, &rng))
            guard let c = try? Checkpoint(fileBytes: file) else { continue }
            var r = ByteReader(c.aggregates)
            if (try? PartitionedAggregator(from: &r, spec: spec, schema: schema, profile: profile, decision: DriftDecision())) != nil {
                loaded += 1
            }
        }
        #expect(loaded < 3000)
    }

    @Test func mutatedRecordingsStopWithAnErrorOrAPrefix() throws {
        let scratch = try ScratchDirectory()
        let writer = try RecordingWriter(path: scratch.file("r.drr"))
        for i in 0..<200 {
            let value = Array("{\"ts\":\(i)}".utf8)
            try value.withUnsafeBytes {
                try writer.append(topic: "t", partition: Int32(i % 3), offset: Int64(i), timestamp: Int64(i), key: nil, value: $0, headers: [])
            }
        }
        try writer.close()
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("r.drr"))))
        let plain = try Zstd.decompress(compressed)
        var rng = Rng(state: 3)
        for n in 0..<1500 {
            let bytes = mutate(n % 2 == 0 ? plain : compressed, &rng)
            try Data(bytes).write(to: URL(fileURLWithPath: scratch.file("m.drr")))
            let reader = try RecordingReader(path: scratch.file("m.drr"))
            var messages = 0
            do {
                while try reader.read({ entry in if case .message = entry { messages += 1 } }) {}
            } catch {}
            #expect(messages <= 200)
        }
    }
}
