// Binary encoding of the summaries, kept next to the types so every stored field
// is covered. Decoding validates shapes (one count per bin, sorted finite edges) and
// throws on anything inconsistent: a corrupt file is never half-loaded.

extension BinEdges {
    public func encode(to w: inout ByteWriter) {
        w.f64s(values)
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        let v = try r.f64s()
        for i in v.indices where !v[i].isFinite || (i > 0 && !(v[i - 1] < v[i])) {
            throw ByteReaderError("bin edges are not finite and strictly increasing")
        }
        self.init(v)
    }
}

extension Moments {
    public func encode(to w: inout ByteWriter) {
        w.int(state.missing)
        w.int(state.finiteCount)
        w.int(state.positiveInfinities)
        w.int(state.negativeInfinities)
        w.f64(state.finiteMin)
        w.f64(state.finiteMax)
        w.f64(state._mean)
        w.f64(state._scaledM2)
        w.int(state._scaleExponent)
        w.f64s(pending)
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        var s = MomentsState()
        s.missing = try r.int()
        s.finiteCount = try r.int()
        s.positiveInfinities = try r.int()
        s.negativeInfinities = try r.int()
        s.finiteMin = try r.f64()
        s.finiteMax = try r.f64()
        s._mean = try r.f64()
        s._scaledM2 = try r.f64()
        s._scaleExponent = try r.int()
        guard s.missing >= 0, s.finiteCount >= 0, s.positiveInfinities >= 0, s.negativeInfinities >= 0,
            abs(s._scaleExponent) <= 2000
        else { throw ByteReaderError("invalid moments") }
        self.init()
        state = s
        pending = try r.f64s()
        guard pending.count < Moments.chunkSize else { throw ByteReaderError("invalid moments chunk") }
    }
}

extension FineHistogram {
    public func encode(to w: inout ByteWriter) {
        edges.encode(to: &w)
        w.u64s(counts)
        w.u64s(rightEdgeCounts)
        w.f64s(offsetSums)
        w.u64(missing)
        w.u64(positiveInfinities)
        w.u64(negativeInfinities)
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        let edges = try BinEdges(from: &r)
        self.init(edges: edges)
        let c = try r.u64s(), e = try r.u64s(), s = try r.f64s()
        guard c.count == edges.binCount, e.count == c.count, s.count == c.count else {
            throw ByteReaderError("histogram arrays do not match its \(edges.binCount) bins")
        }
        counts = c
        rightEdgeCounts = e
        offsetSums = s
        missing = try r.u64()
        positiveInfinities = try r.u64()
        negativeInfinities = try r.u64()
    }
}

extension NumericSummary {
    public func encode(to w: inout ByteWriter) {
        psiEdges.encode(to: &w)
        moments.encode(to: &w)
        fine.encode(to: &w)
        w.bool(separatePSI != nil)
        if let p = separatePSI {
            w.u64s(p.counts)
            w.u64(p.missing)
        }
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        let psiEdges = try BinEdges(from: &r)
        let moments = try Moments(from: &r)
        let fine = try FineHistogram(from: &r)
        self.init(psiEdges: psiEdges, fineEdges: fine.edges)
        self.moments = moments
        self.fine = fine
        if try r.bool() {
            let counts = try r.u64s()
            guard let p = BinnedCounts(edges: psiEdges, counts: counts, missing: try r.u64()) else {
                throw ByteReaderError("PSI counts do not match their bins")
            }
            separatePSI = p
        }
        guard (separatePSI == nil) == NumericSummary.isSubset(psiEdges, of: fine.edges) else {
            throw ByteReaderError("PSI edges are inconsistent with the fine edges")
        }
    }
}

extension BloomFilter {
    public func encode(to w: inout ByteWriter) {
        w.int(probes)
        w.u64s(words)
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        let probes = try r.int()
        guard let f = BloomFilter(words: try r.u64s(), probes: probes), probes <= 64 else {
            throw ByteReaderError("invalid membership filter")
        }
        self = f
    }
}

extension CategoryDictionary {
    public func encode(to w: inout ByteWriter) {
        w.strings(categories)
        w.bool(knownCategories != nil)
        knownCategories?.encode(to: &w)
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        let categories = try r.strings()
        guard Set(categories).count == categories.count else { throw ByteReaderError("duplicate reference categories") }
        let known = try r.bool() ? try BloomFilter(from: &r) : nil
        self.init(categories: categories, knownCategories: known)
    }
}

extension CategoricalCounts {
    public func encode(to w: inout ByteWriter) {
        w.u64s(counts)
        w.u64(unseen)
        w.u64(missing)
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        let counts = try r.u64s()
        guard !counts.isEmpty else { throw ByteReaderError("categorical counts without the __other__ slot") }
        self.init(counts: counts, unseen: try r.u64(), missing: try r.u64())
    }
}
