import Foundation
import Testing

@testable import DriftCore

/// Deterministic mutation fuzzing of the JSON event decoder: valid events are mutated (bytes
/// flipped, inserted, deleted, duplicated, truncated, spliced) and decoded two ways, one event
/// at a time and as staged lines. Neither may crash or hang; both must agree on every event's
/// fate and values; an accepted event's byte ranges stay inside the batch's arena; a rejected
/// one leaves the batch as it was. `DRIFTLINE_FUZZ_ITERATIONS` sets the count
/// (`scripts/fuzz.sh` runs 10 M in a release build).
@Suite struct DecoderMutationTests {
    /// Eleven paths under `features`: more than the decoder scans linearly, so its hashed
    /// lookup of wide objects is fuzzed too.
    static let schema = EventSchema(
        timestamp: "ts", model: "model",
        numeric: [
            "features.amount", "features.age", "features.account_age_days", "features.txn_count_24h",
            "features.distance_km", "features.merchant_risk", "features.session_seconds", "features.failed_logins",
            "features.ip_reputation", "prediction.score",
        ],
        categorical: ["features.country", "features.device"])

    static let corpus: [String] = [
        #"{"ts":1764151199915,"model":"fraud-v3","request_id":"1d4bb7492ffa79b3","features":{"amount":200.92,"age":29,"country":"ES","device":"mobile"},"prediction":{"score":0.2359257221493931,"label":0}}"#,
        #"{"ts":"2025-11-26T10:00:00.123+01:00","model":7,"features":{"amount":-1.5e-3,"age":null,"country":true,"device":"d\u00e9sk\n\"x\""},"prediction":{"score":1E2}}"#,
        #"{ "features" : { "nested" : [1, {"a": [[]]}, "x"], "amount" : 0.0, "country": "\ud83d\ude00" }, "ts" : 1700000000 , "prediction": {"score": 123456789012345678901234567890e-20} }"#,
        #"{"ts":1700000000000000,"features":{"amount":"12","age":1e400},"model":null}"#,
        #"{"ts":17e8,"features":{},"prediction":{"score":-0}}"#,
    ]

    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let interesting: [[UInt8]] = [
        Array("{".utf8), Array("}".utf8), Array("[".utf8), Array("]".utf8), Array("\"".utf8), Array("\\".utf8),
        Array(":".utf8), Array(",".utf8), Array("-".utf8), Array("e".utf8), Array("1e999".utf8), Array("null".utf8),
        Array("\\u".utf8), Array("\\ud800".utf8), [0xC3], [0xFF], [0xE2, 0x82], [0x00], Array(" ".utf8), Array("0.".utf8),
        Array(String(repeating: "[", count: 80).utf8),
    ]

    func mutate(_ input: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var b = input
        for _ in 0...rng.below(4) {
            switch rng.below(7) {
            case 0 where !b.isEmpty: b[rng.below(b.count)] ^= UInt8(1 << rng.below(8))
            case 1: b.insert(contentsOf: Self.interesting[rng.below(Self.interesting.count)], at: rng.below(b.count + 1))
            case 2 where !b.isEmpty: b.remove(at: rng.below(b.count))
            case 3 where !b.isEmpty: b.removeLast(rng.below(b.count))
            case 4 where b.count > 2:
                let i = rng.below(b.count - 1), n = 1 + rng.below(min(32, b.count - i))
                b.insert(contentsOf: b[i..<i + n], at: rng.below(b.count + 1))
            case 5 where !b.isEmpty: b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
            default:
                let other = Array(Self.corpus[rng.below(Self.corpus.count)].utf8)
                let cut = rng.below(other.count)
                b = Array(b.prefix(rng.below(b.count + 1))) + other[cut...]
            }
        }
        // Lines end at LF: keep the event on one line.
        return b.map { $0 == 0x0A ? 0x20 : $0 }
    }

    func fingerprint(_ batch: EventBatch) -> [String] {
        (0..<batch.count).map { i in
            var s = "\(batch.timestamps[i]) \(batch.string(batch.models[i]) ?? "-")"
            for column in batch.numeric { s += " \(column[i].bitPattern)" }
            for column in batch.categorical { s += " \(batch.string(column[i]) ?? "-")" }
            return s
        }
    }

    @Test func mutatedEventsNeverCrashAndBothDecodePathsAgree() throws {
        let iterations = ProcessInfo.processInfo.environment["DRIFTLINE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 50_000
        let decoder = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxDepth: 64, maxEventBytes: 1 << 16))
        var rng = Rng(state: 0x5EED)
        var single = EventBatch(numericCount: Self.schema.numeric.count, categoricalCount: Self.schema.categorical.count)
        var staged = EventBatch(numericCount: Self.schema.numeric.count, categoricalCount: Self.schema.categorical.count)
        var accepted = 0
        var reasons: [RejectReason: Int] = [:]
        var block: [UInt8] = []
        var expected: [RejectReason?] = []
        func check() {
            var rejected: [Int64: RejectReason] = [:]
            let counts = block.withUnsafeBytes { raw in
                decoder.decodeLines(raw, firstLine: 1, into: &staged) { position, reason, _ in rejected[position] = reason }
            }
            #expect(counts.accepted + counts.rejected + counts.blank == expected.count)
            for (i, reason) in expected.enumerated() where reason != nil {
                #expect(rejected[Int64(i + 1)] == reason, "line \(i + 1): \(String(decoding: block, as: UTF8.self))")
            }
            #expect(fingerprint(single) == fingerprint(staged))
            for column in single.categorical + [single.models] {
                for r in column where !r.isMissing { #expect(Int(r.start) + Int(r.count) <= single.bytes.count) }
            }
            single.removeAll()
            staged.removeAll()
            block.removeAll()
            expected.removeAll()
        }
        for n in 0..<iterations {
            let event = mutate(Array(Self.corpus[n % Self.corpus.count].utf8), &rng)
            let before = single.count, arena = single.bytes.count
            let reason = event.withUnsafeBytes { decoder.decode($0, position: Int64(expected.count + 1), into: &single) }
            if let reason {
                reasons[reason, default: 0] += 1
                #expect(single.count == before && single.bytes.count == arena, "a rejected event left data behind")
            } else {
                accepted += 1
                #expect(single.count == before + 1)
            }
            // Blank lines are counted, not rejected, by the staged path.
            let blank = event.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            expected.append(blank ? nil : reason)
            block += event + [0x0A]
            if expected.count == 64 { check() }
        }
        check()
        // The mutations reach both outcomes and several kinds of rejection.
        #expect(accepted > iterations / 20)
        #expect(reasons.count >= 6)
    }
}
