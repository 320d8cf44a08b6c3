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

// MARK: - Window state (edges known to the reader)

extension NumericSummary {
    /// Writes the counts and moments but not the edges: for state whose edges the reader
    /// takes from the reference profile (checkpoints), where edges would be most of the bytes.
    public func encodeCounts(to w: inout ByteWriter) {
        moments.encode(to: &w)
        // A window of one partition touches few of the fine bins: list those when it pays.
        let used = fine.counts.indices.filter {
            fine.counts[$0] != 0 || fine.rightEdgeCounts[$0] != 0 || fine.offsetSums[$0].bitPattern != 0
        }
        if used.count * 28 < fine.counts.count * 24 {
            w.u8(1)
            w.u64(UInt64(used.count))
            for i in used {
                w.u32(UInt32(i))
                w.u64(fine.counts[i])
                w.u64(fine.rightEdgeCounts[i])
                w.f64(fine.offsetSums[i])
            }
        } else {
            w.u8(0)
            w.u64s(fine.counts)
            w.u64s(fine.rightEdgeCounts)
            w.f64s(fine.offsetSums)
        }
        w.u64(fine.missing)
        w.u64(fine.positiveInfinities)
        w.u64(fine.negativeInfinities)
        if let p = separatePSI {
            w.u64s(p.counts)
            w.u64(p.missing)
        }
    }

    /// Reads what ``encodeCounts(to:)`` wrote into this summary, which must be an empty one
    /// over the same edges.
    public mutating func decodeCounts(from r: inout ByteReader) throws(ByteReaderError) {
        let moments = try Moments(from: &r)
        let bins = fine.edges.binCount
        var c: [UInt64], e: [UInt64], s: [Double]
        switch try r.u8() {
        case 0:
            c = try r.u64s()
            e = try r.u64s()
            s = try r.f64s()
        case 1:
            c = Array(repeating: 0, count: bins)
            e = c
            s = Array(repeating: 0, count: bins)
            let used = try r.count(unit: 28)
            var previous = -1
            for _ in 0..<used {
                let i = Int(try r.u32())
                guard i > previous, i < bins else { throw ByteReaderError("sparse histogram bin \(i) out of order or range") }
                previous = i
                c[i] = try r.u64()
                e[i] = try r.u64()
                s[i] = try r.f64()
            }
        default:
            throw ByteReaderError("unknown histogram encoding")
        }
        guard c.count == bins, e.count == bins, s.count == bins else {
            throw ByteReaderError("histogram arrays do not match the reference's \(bins) bins")
        }
        self.moments = moments
        fine.counts = c
        fine.rightEdgeCounts = e
        fine.offsetSums = s
        fine.missing = try r.u64()
        fine.positiveInfinities = try r.u64()
        fine.negativeInfinities = try r.u64()
        if let p = separatePSI {
            let counts = try r.u64s()
            guard let restored = BinnedCounts(edges: p.edges, counts: counts, missing: try r.u64()) else {
                throw ByteReaderError("PSI counts do not match their bins")
            }
            separatePSI = restored
        }
    }
}
