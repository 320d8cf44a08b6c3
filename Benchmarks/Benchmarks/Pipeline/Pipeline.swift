// Benchmarks of the event path: JSON decoding into columnar batches and the
// window aggregator, on the example fraud-scoring events (Fixtures/traffic/,
// ~400 bytes, 10 numeric + 2 categorical configured paths in nested objects).
// Throughput reads as events/s (scalingFactor .kilo: one iteration = 1 000 events
// is reported per-iteration; see the metric names).

import Benchmark
import DriftCore
import DriftStats
import Foundation

/// The decompressed example stream, its lines and their count.
let fixtureText: [UInt8] = {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/traffic/stream.ndjson.zst")
    let compressed = try! [UInt8](Data(contentsOf: url))
    return try! Zstd.decompress(compressed)
}()

let fixtureLines = fixtureText.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }

let schema = EventSchema(
    timestamp: "ts", model: "model",
    numeric: [
        "features.amount", "features.age", "features.account_age_days", "features.txn_count_24h",
        "features.distance_km", "features.merchant_risk", "features.session_seconds",
        "features.failed_logins", "features.ip_reputation", "prediction.score",
    ],
    categorical: ["features.country", "features.device"])

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)
    Benchmark.defaultConfiguration.maxIterations = 1_000

    // One iteration decodes the whole stream (24 008 lines, 9.6 MB); the throughput
    // column is lines per second, and bytes per second is that × 402.
    Benchmark(
        "JSONEventDecoder.decodeLines example stream (24008 lines, 402 B/line)",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .one)
    ) { benchmark in
        let decoder = JSONEventDecoder(schema: schema)
        var batch = EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count)
        for _ in benchmark.scaledIterations {
            fixtureText.withUnsafeBytes { raw in
                // 4 096-line pieces, as the file reader hands them over.
                var start = 0
                var line: Int64 = 1
                while start < raw.count {
                    var end = min(start + 4096 * 402, raw.count)
                    while end < raw.count && raw[end - 1] != 0x0A { end += 1 }
                    batch.removeAll()
                    let r = decoder.decodeLines(UnsafeRawBufferPointer(rebasing: raw[start..<end]), firstLine: line, into: &batch) { _, _, _ in }
                    line += Int64(r.accepted + r.rejected + r.blank)
                    start = end
                }
            }
            blackHole(batch.count)
        }
    }

    // The aggregator over already decoded batches: windows, summaries and evaluation.
    Benchmark(
        "WindowAggregator example stream (24008 events, 12 features, 5 min windows)",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .one)
    ) { benchmark in
        let decoder = JSONEventDecoder(schema: schema)
        var batch = EventBatch(numericCount: schema.numeric.count, categoricalCount: schema.categorical.count)
        _ = fixtureText.withUnsafeBytes { decoder.decodeLines($0, firstLine: 1, into: &batch) { _, _, _ in } }
        var builder = ReferenceBuilder(schema: schema, binning: BinningSettings(psiBins: 10, ksBins: 1000, topK: 1000))
        builder.add(batch)
        let profile = builder.build()
        let spec = WindowSpec(size: 300_000_000, slide: 300_000_000, lateness: 30_000_000)!
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var aggregator = WindowAggregator(spec: spec, schema: schema, profile: profile, decision: DriftDecision())
            aggregator.add(batch) { _ in }
            blackHole(aggregator.closeAll().count)
        }
    }
}
