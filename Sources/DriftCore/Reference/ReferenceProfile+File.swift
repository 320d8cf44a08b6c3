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
        return w.bytes
    }

    /// Reads a profile file.
    ///
    /// - Throws: ``FormatError`` when the file is not a valid profile.
    public init(fileBytes bytes: [UInt8]) throws(FormatError) {
        let (_, payload) = try FileContainer.decode(.profile, bytes)
        var r = ByteReader(payload)
        do {
            let binning = BinningSettings(psiBins: try r.int(), ksBins: try r.int(), topK: try r.int())
            let modelPath = try r.bool() ? try r.string() : nil
            let numericPaths = try r.strings()
            let categoricalPaths = try r.strings()
            let pooled = try ModelReference(from: &r, numeric: numericPaths.count, categorical: categoricalPaths.count)
            let count = try r.int()
            guard count >= 0, count <= r.remaining else { throw ByteReaderError("implausible model count") }
            var models: [String: ModelReference] = [:]
            for _ in 0..<count {
                let name = try r.string()
                models[name] = try ModelReference(from: &r, numeric: numericPaths.count, categorical: categoricalPaths.count)
            }
            guard r.isAtEnd else { throw ByteReaderError("\(r.remaining) unexpected bytes after the profile") }
            self.init(
                binning: binning, numericPaths: numericPaths, categoricalPaths: categoricalPaths,
                modelPath: modelPath, models: models, pooled: pooled)
        } catch {
            throw FormatError("invalid profile payload: \(error)")
        }
    }
}
