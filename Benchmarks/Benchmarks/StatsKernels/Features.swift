import DriftStats

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reference and window summaries of many numeric features, as the evaluator holds
/// them at the end of a window: every feature has its own edges (10 PSI bins, 1000
/// fine bins) and its own arrays, so evaluating all of them reads every histogram
/// from memory as the pipeline does.
struct NumericFeatures: Sendable {
    var references: [NumericSummary] = []
    var windows: [NumericSummary] = []

    /// - Parameters:
    ///   - count: Number of features.
    ///   - referenceSize: Values per reference summary.
    ///   - windowSize: Values per window summary.
    init(count: Int, referenceSize: Int, windowSize: Int) {
        let shapes: [Distribution] = [.normal, .lognormal, .cauchy, .skewed]
        let bases = shapes.enumerated().map { i, shape in
            sortedReference(shape, count: referenceSize, seed: 1_000 + UInt64(i))
        }
        var scratch = [Double](repeating: 0, count: referenceSize)
        references.reserveCapacity(count)
        windows.reserveCapacity(count)
        for feature in 0..<count {
            let s = feature % shapes.count
            // An affine map per feature (positive scale keeps the reference sorted),
            // so no two features share edges.
            let scale = 1 + Double(feature % 7) * 0.5
            let offset = Double(feature) * 0.125 - 60
            for j in 0..<referenceSize { scratch[j] = offset + scale * bases[s][j] }
            let psiEdges = BinEdges(referenceQuantilesOfSorted: scratch, bins: 10)
            let fineEdges = BinEdges(referenceQuantilesOfSorted: scratch, bins: 1000)
            var reference = NumericSummary(psiEdges: psiEdges, fineEdges: fineEdges)
            reference.add(scratch)
            reference.settle()  // as ReferenceBuilder freezes every reference
            // Every other feature drifts by a shift of 0.2 (in the units of its shape).
            let drift = feature.isMultiple(of: 2) ? 0 : 0.2
            var rng = SplitMix64(seed: 50_000 + UInt64(feature))
            let windowValues = (0..<windowSize).map { _ in offset + scale * (shapes[s].next(&rng) + drift) }
            var window = NumericSummary(psiEdges: psiEdges, fineEdges: fineEdges)
            window.add(windowValues)
            references.append(reference)
            windows.append(window)
        }
    }
}

/// Reference and window counts of many categorical features over 50 categories.
struct CategoricalFeatures: Sendable {
    var references: [CategoricalCounts] = []
    var windows: [CategoricalCounts] = []

    init(count: Int, categories: Int, referenceSize: Int, windowSize: Int) {
        var rng = SplitMix64(seed: 77)
        func counts(total: Int, skew: Double) -> CategoricalCounts {
            var c = CategoricalCounts(categoryCount: categories)
            let codes = (0..<total).map { _ in categoricalCode(&rng, categories: categories, skew: skew) }
            c.add(codes: codes)
            return c
        }
        for feature in 0..<count {
            references.append(counts(total: referenceSize, skew: 8))
            windows.append(counts(total: windowSize, skew: feature.isMultiple(of: 2) ? 8 : 10))
        }
    }
}

/// A category code with a geometric-like popularity (`skew` sets how fast it falls),
/// plus about 2 % `__other__`, 1 % unseen and 1 % missing.
func categoricalCode(_ rng: inout SplitMix64, categories: Int, skew: Double) -> UInt32 {
    let r = rng.next() % 100
    if r == 0 { return UInt32.max }  // missing
    if r == 1 { return UInt32(categories) + 1 }  // unseen
    if r <= 3 { return UInt32(categories) }  // __other__
    let k = Int(-log(rng.nextOpenUnit()) * skew)
    return UInt32(min(k, categories - 1))
}
