import Testing

@testable import DriftStats

/// A small deterministic generator so failures reproduce (SplitMix64).
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func normal() -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let v = Double.random(in: 0..<1, using: &self)
        return (-2 * Double.log(u)).squareRoot() * Double.cos(2 * .pi * v)
    }
}

extension Double {
    static func log(_ x: Double) -> Double {
        // Series-free natural log via the binary exponent and a short atanh series:
        // accurate enough for generating test data, and no libm import needed here.
        let e = Double(x.exponent)
        let m = x.significand  // [1, 2)
        let y = (m - 1) / (m + 1)
        var term = y, sum = 0.0, k = 1.0
        for _ in 0..<30 {
            sum += term / k
            term *= y * y
            k += 2
        }
        return 2 * sum + e * 0.693_147_180_559_945_3
    }

    static func cos(_ x: Double) -> Double {
        var r = x.truncatingRemainder(dividingBy: 2 * .pi)
        if r > .pi { r -= 2 * .pi }
        var term = 1.0, sum = 1.0
        for k in stride(from: 2.0, through: 40.0, by: 2.0) {
            term *= -r * r / (k * (k - 1))
            sum += term
        }
        return sum
    }
}

/// Data sets that stress the kernels: skew, ties, specials, extreme magnitudes.
enum Datasets {
    static func make(_ name: String, count: Int, seed: UInt64) -> [Double] {
        var g = TestRandom(seed: seed)
        switch name {
        case "normal": return (0..<count).map { _ in g.normal() }
        case "skewed": return (0..<count).map { _ in g.normal() > 1.5 ? g.normal() : 0.25 }
        case "ties": return (0..<count).map { _ in Double(Int.random(in: 0..<7, using: &g)) }
        case "specials":
            let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude]
            return (0..<count).map { i in i % 5 == 0 ? specials[Int.random(in: 0..<specials.count, using: &g)] : g.normal() }
        case "huge": return (0..<count).map { _ in g.normal() * 1e300 }
        case "tiny": return (0..<count).map { _ in g.normal() * 0x1p-1030 }
        default: fatalError("unknown data set \(name)")
        }
    }

    static let names = ["normal", "skewed", "ties", "specials", "huge", "tiny"]
}

@Suite struct BinnedCountsTests {
    /// Counts by the scalar binary search, the reference for the kernels.
    func scalarCounts(_ values: [Double], _ edges: BinEdges) -> ([UInt64], UInt64) {
        var counts = [UInt64](repeating: 0, count: edges.binCount)
        var missing: UInt64 = 0
        for x in values {
            if let b = edges.bin(of: x) { counts[b] += 1 } else { missing += 1 }
        }
        return (counts, missing)
    }

    @Test(arguments: Datasets.names, [1, 4, 9, 16, 17, 99, 999])
    func kernelsMatchScalarBinarySearch(dataset: String, bins: Int) {
        let reference = Datasets.make(dataset, count: 5000, seed: 1)
        let values = Datasets.make(dataset, count: 3001, seed: 2)
        let edges = BinEdges(referenceQuantilesOf: reference, bins: bins + 1)
        var counts = BinnedCounts(edges: edges)
        counts.add(values)
        let (expected, missing) = scalarCounts(values, edges)
        #expect(counts.counts == expected)
        #expect(counts.missing == missing)
        var fine = FineHistogram(edges: edges)
        fine.add(values)
        #expect(fine.counts == expected)
        #expect(fine.missing == missing)
        let onEdge = edges.values.indices.map { j in UInt64(values.filter { $0 == edges.values[j] }.count) }
        #expect(Array(fine.rightEdgeCounts.prefix(edges.values.count)) == onEdge)
    }

    @Test func valuesExactlyOnEdgesGoToTheLowerBin() {
        let edges = BinEdges([1, 2, 3])
        var counts = BinnedCounts(edges: edges)
        counts.add([1, 2, 3, 1.5, 3.5, -.infinity, .infinity, .nan, 0])
        // Right-closed: (-inf,1] (1,2] (2,3] (3,inf)
        #expect(counts.counts == [3, 2, 1, 2])
        #expect(counts.missing == 1)
    }

    @Test(arguments: Datasets.names)
    func mergesAreExactUnderAnySplitAndOrder(dataset: String) {
        let values = Datasets.make(dataset, count: 4000, seed: 3)
        let edges = BinEdges(referenceQuantilesOf: Datasets.make(dataset, count: 2000, seed: 4), bins: 1000)
        var whole = BinnedCounts(edges: edges)
        whole.add(values)
        var wholeFine = FineHistogram(edges: edges)
        wholeFine.add(values)
        var g = TestRandom(seed: 5)
        for _ in 0..<5 {
            // Random cut points, parts merged in a random order.
            var cuts = (0..<6).map { _ in Int.random(in: 0...values.count, using: &g) } + [0, values.count]
            cuts.sort()
            var parts: [(BinnedCounts, FineHistogram)] = []
            for i in 0..<(cuts.count - 1) {
                var c = BinnedCounts(edges: edges)
                var f = FineHistogram(edges: edges)
                c.add(Array(values[cuts[i]..<cuts[i + 1]]))
                f.add(Array(values[cuts[i]..<cuts[i + 1]]))
                parts.append((c, f))
            }
            parts.shuffle(using: &g)
            var merged = BinnedCounts(edges: edges)
            var mergedFine = FineHistogram(edges: edges)
            for (c, f) in parts {
                merged.merge(c)
                mergedFine.merge(f)
            }
            #expect(merged == whole)
            #expect(mergedFine.counts == wholeFine.counts)
            #expect(mergedFine.rightEdgeCounts == wholeFine.rightEdgeCounts)
            #expect(mergedFine.missing == wholeFine.missing)
            #expect(mergedFine.positiveInfinities == wholeFine.positiveInfinities)
        }
    }

    @Test func coarseningFineCountsGivesThePSICounts() {
        let reference = Datasets.make("normal", count: 10_000, seed: 6)
        let values = Datasets.make("skewed", count: 5_000, seed: 7)
        let psiEdges = BinEdges(referenceQuantilesOf: reference, bins: 10)
        let fineEdges = BinEdges(referenceQuantilesOf: reference, bins: 1000)
        var psi = BinnedCounts(edges: psiEdges)
        psi.add(values)
        var fine = BinnedCounts(edges: fineEdges)
        fine.add(values)
        #expect(fine.coarsened(to: psiEdges) == psi)
        // Edges that are not a subset cannot be coarsened.
        #expect(fine.coarsened(to: BinEdges([0.123456789])) == nil)
    }

    @Test func edgeCasesOfReferenceEdges() {
        #expect(BinEdges(referenceQuantilesOf: [], bins: 10).values == [])
        #expect(BinEdges(referenceQuantilesOf: [.nan, .nan], bins: 10).values == [])
        #expect(BinEdges(referenceQuantilesOf: [3, 3, 3], bins: 10).values == [3])
        #expect(BinEdges(referenceQuantilesOf: [-.infinity, .infinity], bins: 4).values == [])
        #expect(BinEdges([2, 1, 1, .nan, .infinity, 0, -0.0]).values == [0, 1, 2])
        // One bin: everything but NaN lands in it.
        var counts = BinnedCounts(edges: BinEdges([]))
        counts.add([1, -.infinity, .nan])
        #expect(counts.counts == [2])
        #expect(counts.missing == 1)
    }
}

@Suite struct MomentsTests {
    /// Mean and population std by an exact-enough scalar two-pass over finite values.
    func reference(_ values: [Double]) -> (Double, Double)? {
        let finite = values.filter { $0.isFinite }
        guard !finite.isEmpty else { return nil }
        let m = finite.map { $0 }.max(by: { abs($0) < abs($1) })!
        // Scale by 2^-e in two exact steps (2^1030 alone is not a double).
        let e = m == 0 ? 0 : Int(m.exponent)
        let a = Double(sign: .plus, exponent: -e / 2, significand: 1)
        let b = Double(sign: .plus, exponent: -e - (-e / 2), significand: 1)
        let scaled = finite.map { $0 * a * b }
        let mean = scaled.reduce(0, +) / Double(finite.count)
        let variance = scaled.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(finite.count)
        return (mean / a / b, variance.squareRoot() / a / b)
    }

    @Test(arguments: Datasets.names, [0, 1, 7, 15, 16, 2047, 2048, 2049, 10_000])
    func matchesTwoPassReference(dataset: String, count: Int) throws {
        let values = Datasets.make(dataset, count: count, seed: 11)
        let m = Moments(values)
        #expect(m.missing == values.filter(\.isNaN).count)
        #expect(m.count == values.filter { !$0.isNaN }.count)
        #expect(m.positiveInfinities == values.filter { $0 == .infinity }.count)
        guard let (mean, std) = reference(values) else {
            #expect(m.mean == nil && m.standardDeviation == nil && m.variance == nil)
            return
        }
        let meanTolerance = 1e-12 * max(std, abs(mean))
        #expect(abs(try #require(m.mean) - mean) <= meanTolerance)
        #expect(relativeError(try #require(m.standardDeviation), std) <= 1e-11)
        #expect(m.finiteMin == values.filter(\.isFinite).min())
        #expect(m.finiteMax == values.filter(\.isFinite).max())
    }

    @Test(arguments: Datasets.names)
    func mergeOfAnyPartitionEqualsSinglePass(dataset: String) throws {
        let values = Datasets.make(dataset, count: 6000, seed: 12)
        let whole = Moments(values)
        var g = TestRandom(seed: 13)
        for _ in 0..<5 {
            var cuts = (0..<8).map { _ in Int.random(in: 0...values.count, using: &g) } + [0, values.count]
            cuts.sort()
            var parts = (0..<(cuts.count - 1)).map { Moments(values[cuts[$0]..<cuts[$0 + 1]]) }
            parts.shuffle(using: &g)
            var merged = Moments()
            for p in parts { merged.merge(p) }
            #expect(merged.count == whole.count)
            #expect(merged.missing == whole.missing)
            #expect(merged.finiteCount == whole.finiteCount)
            #expect(merged.min == whole.min && merged.max == whole.max)
            if let a = whole.mean, let s = whole.standardDeviation {
                #expect(abs(try #require(merged.mean) - a) <= 1e-12 * max(s, abs(a)))
                #expect(relativeError(try #require(merged.standardDeviation), s) <= 1e-10)
            }
        }
    }

    @Test(arguments: Datasets.names)
    func batchSizesDoNotChangeASingleBit(dataset: String) {
        let values = Datasets.make(dataset, count: 9000, seed: 14)
        let whole = Moments(values)
        var g = TestRandom(seed: 15)
        for _ in 0..<5 {
            var batched = Moments()
            var i = 0
            while i < values.count {
                let n = Swift.min(Int.random(in: 1...3000, using: &g), values.count - i)
                batched.add(Array(values[i..<(i + n)]))
                i += n
            }
            #expect(batched.mean?.bitPattern == whole.mean?.bitPattern)
            #expect(batched.standardDeviation?.bitPattern == whole.standardDeviation?.bitPattern)
            #expect(batched.count == whole.count && batched.missing == whole.missing)
        }
    }

    @Test func definedResultsForDegenerateInput() {
        let empty = Moments()
        #expect(empty.count == 0 && empty.mean == nil && empty.min == nil && empty.max == nil)
        let missing = Moments([.nan, .nan])
        #expect(missing.missing == 2 && missing.count == 0 && missing.mean == nil)
        let infinite = Moments([.infinity, -.infinity, .nan])
        #expect(infinite.count == 2 && infinite.mean == nil && infinite.min == -.infinity && infinite.max == .infinity)
        let constant = Moments([5, 5, 5])
        #expect(constant.mean == 5 && constant.standardDeviation == 0 && constant.variance == 0)
        let extreme = Moments([Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude])
        #expect(extreme.mean == 0)
        #expect(extreme.standardDeviation == Double.greatestFiniteMagnitude)
        // Subnormals keep their spread: mean and std are 2^-1073, not 0.
        let sub = Moments([4 * Double.leastNonzeroMagnitude, 0])
        #expect(sub.mean == 2 * Double.leastNonzeroMagnitude)
        #expect(sub.standardDeviation == 2 * Double.leastNonzeroMagnitude)
    }
}

/// The kernel paths added for speed: every edge count of the comparison kernel,
/// chunk and block boundaries, heavy tails that leave the lookup grid, and the
/// arrival-order offset sums of ``FineHistogram``.
@Suite struct HistogramKernelPathTests {
    /// Bins and offset sums by the scalar binary search, values in arrival order.
    func scalarFine(_ values: [Double], _ edges: BinEdges) -> (counts: [UInt64], onEdge: [UInt64], sums: [Double]) {
        var counts = [UInt64](repeating: 0, count: edges.binCount)
        var onEdge = counts
        var sums = [Double](repeating: 0, count: edges.binCount)
        let e = edges.values
        for x in values {
            guard let b = edges.bin(of: x) else { continue }
            counts[b] += 1
            if b < e.count, x == e[b] { onEdge[b] += 1 }
            if x.isFinite { sums[b] += x - (b == 0 ? (e.first ?? 0) : e[b - 1]) }
        }
        return (counts, onEdge, sums)
    }

    /// Standard Cauchy values: most near 0, a few far beyond the grid of the edges.
    func cauchy(count: Int, seed: UInt64) -> [Double] {
        var g = TestRandom(seed: seed)
        return (0..<count).map { _ in
            let a = g.normal(), b = g.normal()
            return a / b
        }
    }

    @Test(arguments: Array(0...16))
    func comparisonKernelMatchesScalarForEveryEdgeCount(edgeCount: Int) {
        let values = Datasets.make("specials", count: 4099, seed: 8)  // two chunks and a tail
        let edges = BinEdges((0..<edgeCount).map { Double($0) * 0.3 - 2 })
        var counts = BinnedCounts(edges: edges)
        counts.add(values)
        var expected = [UInt64](repeating: 0, count: edges.binCount)
        var missing: UInt64 = 0
        for x in values {
            if let b = edges.bin(of: x) { expected[b] += 1 } else { missing += 1 }
        }
        #expect(counts.counts == expected)
        #expect(counts.missing == missing)
    }

    @Test(arguments: ["normal", "skewed", "ties", "specials", "huge", "tiny", "cauchy"], [17, 999, 4999])
    func lookupKernelsMatchScalarIncludingOffsetSums(dataset: String, bins: Int) {
        let reference = dataset == "cauchy" ? cauchy(count: 20_000, seed: 9) : Datasets.make(dataset, count: 20_000, seed: 9)
        let values = dataset == "cauchy" ? cauchy(count: 3001, seed: 10) : Datasets.make(dataset, count: 3001, seed: 10)
        let edges = BinEdges(referenceQuantilesOf: reference, bins: bins)
        let (counts, onEdge, sums) = scalarFine(values, edges)
        var binned = BinnedCounts(edges: edges)
        binned.add(values)
        #expect(binned.counts == counts)
        var fine = FineHistogram(edges: edges)
        fine.add(values)
        #expect(fine.counts == counts)
        #expect(fine.rightEdgeCounts == onEdge)
        // Bit for bit: one accumulator per bin, values in arrival order.
        #expect(fine.offsetSums.map(\.bitPattern) == sums.map(\.bitPattern))
        // Any batch sizes give the same bits.
        var batched = FineHistogram(edges: edges)
        var start = 0, size = 1
        while start < values.count {
            let end = min(values.count, start + size)
            batched.add(Array(values[start..<end]))
            start = end
            size = size * 3 + 1
        }
        #expect(batched == fine)
        #expect(batched.offsetSums.map(\.bitPattern) == fine.offsetSums.map(\.bitPattern))
    }

    @Test func degenerateGridsStayExact() {
        // Edges whose span overflows (scale 0) or is subnormal, and one edge.
        for raw in [[-1e308, -1e300, 0, 1e300, 1e308], [0x1p-1074, 0x1p-1073, 0x1p-1072], [5.0]] {
            let edges = BinEdges(raw + (0..<20).map { raw[0] + Double($0) })
            let values: [Double] = raw + [-.infinity, .infinity, .nan, -1e308, 1e308, 0, -0.0, 3, 0x1p-1074]
            let (counts, onEdge, _) = scalarFine(values, edges)
            var binned = BinnedCounts(edges: edges)
            binned.add(values)
            #expect(binned.counts == counts)
            var fine = FineHistogram(edges: edges)
            fine.add(values)
            #expect(fine.counts == counts)
            #expect(fine.rightEdgeCounts == onEdge)
            #expect(fine.missing == 1 && fine.positiveInfinities == 1 && fine.negativeInfinities == 1)
        }
    }
}
