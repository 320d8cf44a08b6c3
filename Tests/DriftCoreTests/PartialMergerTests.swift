import DriftStats
import Testing

@testable import DriftCore

/// The scaled-out path (partitions' partial aggregates merged by an evaluator) against the
/// single-process ``PartitionedAggregator`` over the same events.
@Suite struct PartialMergerTests {
    typealias Event = (t: Int64, model: String?, x: Double, c: String?)
    let second: Int64 = 1_000_000
    let base = PartitionedAggregatorTests()

    var spec: WindowSpec { WindowSpec(size: 120 * second, slide: 60 * second, lateness: 20 * second)! }

    func newAggregator() -> PartitionedAggregator {
        PartitionedAggregator(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
    }

    func newMerger() -> PartialMerger {
        PartialMerger(spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
    }

    /// The single-process results.
    func single(_ parts: [[Event]]) throws -> [String] {
        try base.lines(base.run(parts, chunk: 50, order: { $0 }).windows)
    }

    /// A worker's report for one partition, through the bytes that travel over Kafka.
    func report(_ agg: inout PartitionedAggregator, _ name: String, all: Bool, into merger: inout PartialMerger) throws {
        let windows = agg.takeClosed(name, all: all)
        let partial = WindowPartial(
            partition: name, watermark: all ? PartialMerger.endOfInput : agg.watermark(of: name)!, windows: windows,
            counts: PartitionCounts(messages: 1))
        var w = ByteWriter()
        agg.encode(partial, to: &w)
        var r = ByteReader(w.bytes)
        merger.add(try merger.decodePartial(from: &r))
        #expect(r.isAtEnd)
    }

    /// Partitions spread over `workers` aggregators (partition p on worker p % workers), fed in
    /// chunks of `chunk`, reports after every chunk. With `crashAt`, partition 1 is moved at that
    /// chunk to a fresh aggregator restored from the state it had `crashLag` chunks earlier, whose
    /// events are fed again (a worker killed after its last saved state).
    func scaled(
        _ parts: [[Event]], workers: Int, chunk: Int, crashAt: Int? = nil, crashLag: Int = 3, checkpointMergerAt: Int? = nil
    ) throws -> (lines: [String], merger: PartialMerger) {
        var aggs = (0..<workers).map { _ in newAggregator() }
        var merger = newMerger()
        let names = parts.indices.map { "t/\($0)" }
        merger.expect(names)
        for (p, name) in names.enumerated() { aggs[p % workers].register(name) }
        var lines: [String] = []
        var saved: [Int: (state: [UInt8], cursor: Int)] = [:]
        var cursors = Array(repeating: 0, count: parts.count)
        var step = 0
        while cursors.indices.contains(where: { cursors[$0] < parts[$0].count }) {
            for p in parts.indices where cursors[p] < parts[p].count {
                let a = p % workers
                let end = min(parts[p].count, cursors[p] + chunk)
                aggs[a].add(BatchMaker.batch(Array(parts[p][cursors[p]..<end])), partition: names[p]) { _ in }
                cursors[p] = end
                try report(&aggs[a], names[p], all: false, into: &merger)
                if p == 1 {
                    var w = ByteWriter()
                    aggs[a].encodePartition(names[p], to: &w)
                    saved[step] = (w.bytes, cursors[p])
                }
                lines += merger.closeReady().flatMap { ResultRecord.lines(for: $0) }
            }
            if step == crashAt, let old = saved[step - crashLag] {
                // Partition 1 restarts from an older state and reads its events again.
                let a = 1 % workers
                aggs[a].remove(names[1])
                var r = ByteReader(old.state)
                try aggs[a].restorePartition(names[1], from: &r)
                cursors[1] = old.cursor
            }
            if step == checkpointMergerAt {
                var w = ByteWriter()
                merger.encode(to: &w)
                var r = ByteReader(w.bytes)
                merger = try PartialMerger(
                    from: &r, spec: spec, schema: BatchMaker.schema, profile: BatchMaker.profile(), decision: DriftDecision(minCount: 1))
                #expect(r.isAtEnd)
            }
            step += 1
        }
        for (p, name) in names.enumerated() {
            try report(&aggs[p % workers], name, all: true, into: &merger)
            lines += merger.closeReady().flatMap { ResultRecord.lines(for: $0) }
        }
        return (lines, merger)
    }

    @Test func mergedPartialsEqualTheSingleProcessResults() throws {
        let parts = base.partitions(seed: 7)
        let expected = try single(parts)
        #expect(expected.count > 20)
        for workers in 1...3 {
            let scaled = try scaled(parts, workers: workers, chunk: 37)
            #expect(scaled.lines == expected, "\(workers) workers")
            #expect(scaled.merger.duplicates == 0)
            #expect(!scaled.lines.contains { $0.contains("missing_partitions") })
        }
    }

    @Test func aPartitionTakenOverFromAnOlderStateGivesTheSameResults() throws {
        let parts = base.partitions(seed: 23)
        let expected = try single(parts)
        let scaled = try scaled(parts, workers: 2, chunk: 20, crashAt: 12, crashLag: 4)
        #expect(scaled.lines == expected)
        // The events read again produced shares the evaluator had already: dropped as duplicates.
        #expect(scaled.merger.duplicates > 0)
        #expect(scaled.merger.lateShares == 0)
    }

    @Test func theEvaluatorStateSurvivesACheckpoint() throws {
        let parts = base.partitions(seed: 5)
        let expected = try single(parts)
        let scaled = try scaled(parts, workers: 3, chunk: 25, checkpointMergerAt: 9)
        #expect(scaled.lines == expected)
    }

    @Test func aWindowClosedAtTheGraceNamesItsMissingPartitionsAndLateSharesAreCounted() throws {
        let parts = base.partitions(seed: 3)
        var agg = newAggregator()
        var merger = newMerger()
        merger.expect(["t/0", "t/1", "t/2"])
        // Partitions 0 and 1 report their first 200 events; partition 2 is silent.
        for p in 0..<2 {
            agg.add(BatchMaker.batch(Array(parts[p][0..<200])), partition: "t/\(p)") { _ in }
            try report(&agg, "t/\(p)", all: false, into: &merger)
        }
        #expect(merger.closeReady().isEmpty)
        let ends = merger.pendingWindowEnds
        let first = try #require(ends.first)
        let closed = merger.close(endingBy: first)
        #expect(!closed.isEmpty)
        #expect(closed.allSatisfy { $0.missingPartitions == 1 && $0.end == first })
        #expect(ResultRecord.datasetLine(for: closed[0]).contains("\"missing_partitions\":1"))
        // Partition 2's share of that window arrives after all: late, not merged.
        agg.add(BatchMaker.batch(Array(parts[2][0..<200])), partition: "t/2") { _ in }
        try report(&agg, "t/2", all: false, into: &merger)
        #expect(merger.lateShares > 0)
        // Windows after the grace close normally once every partition has passed them.
        let later = merger.closeReady()
        #expect(!later.isEmpty)
        #expect(later.allSatisfy { $0.missingPartitions == 0 && $0.end > first })
    }
}
