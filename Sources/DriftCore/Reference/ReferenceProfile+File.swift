import DriftStats

extension ModelReference {
    func encode(to w: inout ByteWriter) {
        w.int(numeric.count)
        for s in numeric { s.encode(to: &w) }
        w.int(categorical.count)
        for c in categorical {
            c.dictionary.encode(to: &w)
            c.counts.encode(to: &w)
        }
    }

    init(from r: inout ByteReader, numeric n: Int, categorical c: Int) throws(ByteReaderError) {
        guard try r.int() == n else { throw ByteReaderError("numeric feature count mismatch") }
        var numeric: [NumericSummary] = []
        for _ in 0..<n { numeric.append(try NumericSummary(from: &r)) }
        guard try r.int() == c else { throw ByteReaderError("categorical feature count mismatch") }
        var categorical: [CategoricalReference] = []
        for _ in 0..<c {
            let d = try CategoryDictionary(from: &r)
            let counts = try CategoricalCounts(from: &r)
            guard counts.counts.count == d.categories.count + 1 else {
                throw ByteReaderError("categorical counts do not match the dictionary")
            }
            categorical.append(CategoricalReference(dictionary: d, counts: counts))
        }
        self.init(numeric: numeric, categorical: categorical)
    }
}

extension ReferenceProfile {
    /// The profile as a file (``FileContainer`` of kind profile).
    public func fileBytes() throws -> [UInt8] {
        try FileContainer.encode(.profile, payload: payload())
    }

    /// CRC-32C of the profile's contents: checkpoints record it so that state is never
    /// restored against a different reference.
    public var fingerprint: UInt32 { CRC32C.checksum(payload()) }

    /// Profile payload (inside a ``FileContainer`` of kind profile), little-endian:
    /// ```
    /// psi_bins, ks_bins, top_k   i64 each
    /// model path                 u8 present, then string
    /// numeric, categorical paths strings
    /// pooled reference           ModelReference
    /// models                     i64 count, then per model in name order: string, ModelReference
    /// event times (1.1)          only when the reference has them: for the pooled reference,
    ///                            then each model in name order, u8 present, then first i64,
    ///                            last i64, events i64
    /// ```
    /// A profile without event times keeps the 1.0 payload byte for byte, so its
    /// ``fingerprint`` (and the checkpoints and snapshots that name it) stay the same.
    func payload() -> [UInt8] {
        var w = ByteWriter()
        w.int(binning.psiBins)
        w.int(binning.ksBins)
        w.int(binning.topK)
        w.bool(modelPath != nil)
        if let modelPath { w.string(modelPath) }
        w.strings(numericPaths)
        w.strings(categoricalPaths)
        pooled.encode(to: &w)
        let names = models.keys.sorted()
        w.int(names.count)
        for name in names {
            w.string(name)
            models[name]!.encode(to: &w)
        }
        let times = [pooled.eventTimes] + names.map { models[$0]!.eventTimes }
        if times.contains(where: { $0 != nil }) {
            for t in times {
                w.bool(t != nil)
                guard let t else { continue }
                w.i64(t.first)
                w.i64(t.last)
                w.int(t.events)
            }
        }
        return w.bytes
    }

    static func readEventTimes(from r: inout ByteReader) throws(ByteReaderError) -> ReferenceEventTimes? {
        guard try r.bool() else { return nil }
        let t = ReferenceEventTimes(first: try r.i64(), last: try r.i64(), events: try r.int())
        guard t.events >= 0, t.first <= t.last else { throw ByteReaderError("invalid reference event times") }
        return t
    }

    /// Reads a profile file.
    ///
    /// - Throws: ``FormatError`` when the file is not a valid profile.
    public init(fileBytes bytes: [UInt8]) throws(FormatError) {
        let (header, payload) = try FileContainer.decode(.profile, bytes)
        var r = ByteReader(payload)
        do {
            let binning = BinningSettings(psiBins: try r.int(), ksBins: try r.int(), topK: try r.int())
            let modelPath = try r.bool() ? try r.string() : nil
            let numericPaths = try r.strings()
            let categoricalPaths = try r.strings()
            var pooled = try ModelReference(from: &r, numeric: numericPaths.count, categorical: categoricalPaths.count)
            let count = try r.int()
            guard count >= 0, count <= r.remaining else { throw ByteReaderError("implausible model count") }
            var models: [String: ModelReference] = [:]
            var names: [String] = []
            for _ in 0..<count {
                let name = try r.string()
                names.append(name)
                models[name] = try ModelReference(from: &r, numeric: numericPaths.count, categorical: categoricalPaths.count)
            }
            if header.minor >= 1 && !r.isAtEnd {
                pooled.eventTimes = try Self.readEventTimes(from: &r)
                for name in names { models[name]!.eventTimes = try Self.readEventTimes(from: &r) }
            }
            // What a newer minor version adds after that is for newer readers.
            guard r.isAtEnd || header.minor > FileContainer.Kind.profile.minorVersion else {
                throw ByteReaderError("\(r.remaining) unexpected bytes after the profile")
            }
            self.init(
                binning: binning, numericPaths: numericPaths, categoricalPaths: categoricalPaths,
                modelPath: modelPath, models: models, pooled: pooled)
        } catch {
            throw FormatError("invalid profile payload: \(error)")
        }
    }
}
