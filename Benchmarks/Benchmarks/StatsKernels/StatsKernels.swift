// Throughput of the DriftStats kernels (DESIGN.md, "Performance targets").
//
// Value kernels: every measured iteration feeds exactly 10^6 values (15 batches of
// 64 Ki values and one of 16 960, all from one precomputed 64 Ki buffer that stays
// in L2) into a summary created before the measurement starts. With
// `scalingFactor: .mega` the throughput column reads as M values/s; mallocCountTotal
// is per 10^6 values with `--scale`, and per value (0) without.
//
// Metric evaluation: one measured iteration evaluates every metric of 1000 features
// from summaries built in `setup`, so the wall clock is the time per 1000 features.
//
// Flags: run once with the default target (x86-64 baseline, SSE2) and once with
// `-Xswiftc -target-cpu -Xswiftc native`; see run.sh.

import Benchmark
import DriftStats

let benchmarks: @Sendable () -> Void = {
    // MARK: - Configurations (Benchmark.Configuration is not Sendable: no globals)

    let valueKernel = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        // Fixed units so the text output (and run.sh) never rounds to G or K.
        units: [.throughput: .count, .mallocCountTotal: .count],
        warmupIterations: 3,
        scalingFactor: .mega,
        maxDuration: .seconds(2),
        maxIterations: 2_000
    )

    let featureEvaluation = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        units: [.throughput: .count, .mallocCountTotal: .count],
        warmupIterations: 2,
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 500
    )

    // The exact KS branch takes tens of seconds per 1000 features: no warmup, one or two samples.
    let slowFeatureEvaluation = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .microseconds,
        units: [.mallocCountTotal: .count],
        warmupIterations: 0,
        scalingFactor: .one,
        maxDuration: .seconds(1),
        maxIterations: 2
    )

    // MARK: - Data (precomputed, outside every measurement)

    let normal = Distribution.normal.sample(count: batchSize, seed: 1)
    let skewed = Distribution.skewed.sample(count: batchSize, seed: 2)
    let psiEdges = BinEdges(referenceQuantilesOfSorted: sortedReference(.normal, seed: 11), bins: 10)

    // MARK: - Moments

    Benchmark("Moments.add normal", configuration: valueKernel) { benchmark in
        normal.withUnsafeBufferPointer { data in
            var moments = Moments()
            benchmark.startMeasurement()
            feed(data, total: valuesPerIteration) { moments.add($0) }
            benchmark.stopMeasurement()
            blackHole(moments)
        }
    }

    // MARK: - PSI bins: 9 edges, SIMD comparison kernel

    for (name, values) in [("normal", normal), ("skewed 90% equal", skewed)] {
        Benchmark("BinnedCounts 10 bins \(name)", configuration: valueKernel) { benchmark in
            values.withUnsafeBufferPointer { data in
                var counts = BinnedCounts(edges: psiEdges)
                benchmark.startMeasurement()
                feed(data, total: valuesPerIteration) { counts.add($0) }
                benchmark.stopMeasurement()
                blackHole(counts)
            }
        }
    }

    // MARK: - Fine bins: 999 edges, lookup-table kernel

    for (index, distribution) in [Distribution.normal, .lognormal, .cauchy].enumerated() {
        let seed = 20 + UInt64(index)
        let values = distribution.sample(count: batchSize, seed: seed)
        // Edges from a reference of the same distribution (another seed), as in the pipeline.
        let edges = BinEdges(referenceQuantilesOfSorted: sortedReference(distribution, seed: seed + 100), bins: 1000)

        Benchmark("BinnedCounts 1000 bins \(distribution)", configuration: valueKernel) { benchmark in
            values.withUnsafeBufferPointer { data in
                var counts = BinnedCounts(edges: edges)
                benchmark.startMeasurement()
                feed(data, total: valuesPerIteration) { counts.add($0) }
                benchmark.stopMeasurement()
                blackHole(counts)
            }
        }

        Benchmark("FineHistogram 1000 bins \(distribution)", configuration: valueKernel) { benchmark in
            values.withUnsafeBufferPointer { data in
                var histogram = FineHistogram(edges: edges)
                benchmark.startMeasurement()
                feed(data, total: valuesPerIteration) { histogram.add($0) }
                benchmark.stopMeasurement()
                blackHole(histogram)
            }
        }
    }

    // MARK: - The whole per-feature update

    let fineEdges = BinEdges(referenceQuantilesOfSorted: sortedReference(.normal, seed: 11), bins: 1000)
    Benchmark("NumericSummary.add normal", configuration: valueKernel) { benchmark in
        normal.withUnsafeBufferPointer { data in
            var summary = NumericSummary(psiEdges: psiEdges, fineEdges: fineEdges)
            benchmark.startMeasurement()
            feed(data, total: valuesPerIteration) { summary.add($0) }
            benchmark.stopMeasurement()
            blackHole(summary)
        }
    }

    // MARK: - Every metric of 1000 numeric features

    // Reference 200 000 and window 5 000 values per feature: scipy's ks_2samp takes
    // the asymptotic branch (max(n, m) > 10 000).
    Benchmark(
        "NumericDriftMetrics 1000 features ref 200k win 5k",
        configuration: featureEvaluation,
        closure: { benchmark, features in
            evaluateAll(features)
        },
        setup: { NumericFeatures(count: 1_000, referenceSize: 200_000, windowSize: 5_000) }
    )

    // Reference 5 000 and window 2 000 values: the exact (lattice-path) branch.
    Benchmark(
        "NumericDriftMetrics 1000 features ref 5k win 2k",
        configuration: slowFeatureEvaluation,
        closure: { benchmark, features in
            evaluateAll(features)
        },
        setup: { NumericFeatures(count: 1_000, referenceSize: 5_000, windowSize: 2_000) }
    )

    // MARK: - Categorical

    var rng = SplitMix64(seed: 3)
    let codes = (0..<batchSize).map { _ in categoricalCode(&rng, categories: 100, skew: 15) }
    Benchmark("CategoricalCounts.add 100 categories", configuration: valueKernel) { benchmark in
        codes.withUnsafeBufferPointer { data in
            var counts = CategoricalCounts(categoryCount: 100)
            benchmark.startMeasurement()
            feed(data, total: valuesPerIteration) { counts.add(codes: $0) }
            benchmark.stopMeasurement()
            blackHole(counts)
        }
    }

    Benchmark(
        "CategoricalDriftMetrics 1000 features 50 categories",
        configuration: featureEvaluation,
        closure: { benchmark, features in
            for i in features.references.indices {
                blackHole(CategoricalDriftMetrics(reference: features.references[i], window: features.windows[i]))
            }
        },
        setup: { CategoricalFeatures(count: 1_000, categories: 50, referenceSize: 20_000, windowSize: 2_000) }
    )
}

/// Evaluates every numeric metric of every feature once.
func evaluateAll(_ features: NumericFeatures) {
    for i in features.references.indices {
        blackHole(NumericDriftMetrics(reference: features.references[i], window: features.windows[i]))
    }
}
