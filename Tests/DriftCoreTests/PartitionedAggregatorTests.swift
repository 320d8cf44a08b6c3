import DriftStats
import Testing

@testable import DriftCore

@Suite struct PartitionedAggregatorTests {
    let second: Int64 = 1_000_000

    /// Three partitions of out-of-order-ish events over 10 minutes, some late within their
    /// partition, two models.
    func partitions(seed: UInt64) -> [[(t: Int64, model: String?, x: Double, c: String?)]] {
        var rng = seed
        func next() -> UInt64 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return rng >> 33
        }
        return (0..<3).map { p in
            (0..<700).map { i in
                let jitter = Int64(next() % 40) - 30
                let t = Int64(i) * 900_000 + jitter * second + Int64(p) * 10_000
                let x = Double(next() % 1000) / 10 + (i > 350 ? 5 : 0)
                let c: String? = next() % 11 == 0 ? nil : ["a", "b", "c", "d", "e"][Int(next() % 5)]
                return (t: t, model: next() % 3 == 0 ? "m2" : "m", x: x, c: c)
            }
        }
    }

    /// Feeds the partitions' events in chunks, choosing the next partition with `order`.
    func run(
        _ parts: [[(t: Int64, model: String?, x: Double, c: String?)]], chunk: Int, order: (Int) -> Int,
        checkpointAfter: Int? = nil
    ) throws -> (windows: [ClosedWindow], late: Int) {
        let spec = try #require(WindowSpec(size: 120 * second, slide: 60 * second, lateness: 20 * second))
        let profile = BatchMaker.profile()
        var agg = PartitionedAggregator(spec: spec, schema: BatchMaker.schema, profile: profile, decision: DriftDecision(minCount: 1))
        for p in parts.indices { agg.register("t/\(p)") }
        var cursors = Array(repeating: 0, count: parts.count)
        var windows: [ClosedWindow] = []
        var step = 0
        while cursors.indices.contains(where: { cursors[$0] < parts[$0].count }) {
            var p = order(step) % parts.count
            while cursors[p] >= parts[p].count { p = (p + 1) % parts.count }
            let end = min(parts[p].count, cursors[p] + chunk)
            agg.add(BatchMaker.batch(Array(parts[p][cursors[p]..<end])), partition: "t/\(p)") { _ in }
            cursors[p] = end
            windows += agg.closeReady()
            step += 1
            if step == checkpointAfter {
                var w = ByteWriter()
                agg.encode(to: &w)
                var r = ByteReader(w.bytes)
                agg = try PartitionedAggregator(from: &r, spec: spec, schema: BatchMaker.schema, profile: profile, decision: agg.decision)
                #expect(r.isAtEnd)
            }
        }
        windows += agg.closeAll()
        return (windows, agg.lateEvents)
    }

    func lines(_ windows: [ClosedWindow]) -> [String] {
        windows.flatMap { ResultRecord.lines(for: $0) }
    }

    @Test func resultsDoNotDependOnHowPartitionsInterleave() throws {
        let parts = partitions(seed: 7)
        let roundRobin = try run(parts, chunk: 50, order: { $0 })
        let skewed = try run(parts, chunk: 13, order: { $0 % 5 == 0 ? 2 : $0 % 2 })
        let sequential = try run(parts, chunk: 700, order: { _ in 0 })
        #expect(!roundRobin.windows.isEmpty)
        #expect(roundRobin.late > 0)
        #expect(lines(roundRobin.windows) == lines(skewed.windows))
        #expect(lines(roundRobin.windows) == lines(sequential.windows))
        #expect(roundRobin.late == skewed.late && skewed.late == sequential.late)
        // Window ends never go back.
        let ends = roundRobin.windows.map(\.end)
        #expect(ends == ends.sorted())
    }

    @Test func restoringAnEncodedStateContinuesExactly() throws {
        let parts = partitions(seed: 11)
        let straight = try run(parts, chunk: 40, order: { $0 })
        for at in [1, 7, 30] {
            let restored = try run(parts, chunk: 40, order: { $0 }, checkpointAfter: at)
            #expect(lines(restored.windows) == lines(straight.windows), "checkpoint after step \(at)")
            #expect(restored.late == straight.late)
        }
    }

    @Test func oneRegisteredPartitionWithoutEventsHoldsTheWatermarkUntilIdle() throws {
        let spec = try #require(WindowSpec(size: 60 * second, slide: 60 * second, lateness: 0))
        var agg = PartitionedAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
        agg.register("t/0")
        agg.register("t/1")
        agg.add(BatchMaker.batch([(t: 10 * second, model: "m", x: 1, c: "a"), (t: 200 * second, model: "m", x: 1, c: "a")]), partition: "t/0") { _ in }
        #expect(agg.closeReady().isEmpty)
        agg.setIdle("t/1", true)
        #expect(agg.closeReady().map(\.start) == [0])
        #expect(agg.watermark == 200 * second)
        // The idle partition wakes up with an event in the closed window: late, not lost.
        var late: [Int] = []
        agg.add(BatchMaker.batch([(t: 30 * second, model: "m", x: 1, c: "a")]), partition: "t/1") { late.append($0) }
        #expect(late == [0])
        #expect(agg.lateEvents == 1)
    }

    @Test func onePartitionGivesTheSameResultsAsTheWindowAggregator() throws {
        let spec = try #require(WindowSpec(size: 120 * second, slide: 60 * second, lateness: 20 * second))
        let events = partitions(seed: 3)[0]
        var single = WindowAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
        var parted = PartitionedAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
        var a: [ClosedWindow] = [], b: [ClosedWindow] = []
        for start in stride(from: 0, to: events.count, by: 64) {
            let batch = BatchMaker.batch(Array(events[start..<min(events.count, start + 64)]))
            single.add(batch) { _ in }
            parted.add(batch, partition: "only") { _ in }
            a += single.closeReady()
            b += parted.closeReady()
        }
        a += single.closeAll()
        b += parted.closeAll()
        #expect(lines(a) == lines(b))
    }

    @Test func aStateForOtherBinsIsRefused() throws {
        let spec = try #require(WindowSpec(size: 60 * second, slide: 60 * second, lateness: 0))
        var agg = PartitionedAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision())
        agg.add(BatchMaker.batch([(t: 10 * second, model: "m", x: 1, c: "a")]), partition: "p") { _ in }
        var w = ByteWriter()
        agg.encode(to: &w)
        var builder = ReferenceBuilder(schema: BatchMaker.schema, binning: BinningSettings(psiBins: 4, ksBins: 20, topK: 3))
        builder.add(BatchMaker.batch((0..<400).map { i in (t: 0, model: "m", x: Double(i % 17) * 3, c: "a") }))
        var r = ByteReader(w.bytes)
        #expect(throws: ByteReaderError.self) {
            _ = try PartitionedAggregator(from: &r, spec: spec, schema: BatchMaker.schema, profile: builder.build(), decision: DriftDecision())
        }
    }
}
