// Binary encoding of the drift metrics, for snapshots: a reader gets the metrics exactly as
// they were computed (bit for bit), without the reference summaries they came from.
// An absent metric is a 0 byte; a present one is a 1 byte and the double.

extension ByteWriter {
    mutating func optionalF64(_ v: Double?) {
        if let v {
            u8(1)
            f64(v)
        } else {
            u8(0)
        }
    }
}

extension ByteReader {
    mutating func optionalF64() throws(ByteReaderError) -> Double? {
        switch try u8() {
        case 0: return nil
        case 1: return try f64()
        case let b: throw ByteReaderError("invalid optional marker \(b) at byte \(offset - 1)")
        }
    }
}

extension NumericDriftMetrics {
    public func encode(to w: inout ByteWriter) {
        w.int(count)
        w.int(missing)
        for v in [
            psi, ksStatistic, ksErrorBound, ksPValue, jsDistance, wasserstein, wassersteinErrorBound, mean, std,
            referenceMean, referenceStd, meanShift, stdRatio,
        ] {
            w.optionalF64(v)
        }
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        count = try r.int()
        missing = try r.int()
        guard count >= 0, missing >= 0 else { throw ByteReaderError("negative metric counts") }
        psi = try r.optionalF64()
        ksStatistic = try r.optionalF64()
        ksErrorBound = try r.optionalF64()
        ksPValue = try r.optionalF64()
        jsDistance = try r.optionalF64()
        wasserstein = try r.optionalF64()
        wassersteinErrorBound = try r.optionalF64()
        mean = try r.optionalF64()
        std = try r.optionalF64()
        referenceMean = try r.optionalF64()
        referenceStd = try r.optionalF64()
        meanShift = try r.optionalF64()
        stdRatio = try r.optionalF64()
    }
}

extension CategoricalDriftMetrics {
    public func encode(to w: inout ByteWriter) {
        w.int(count)
        w.int(missing)
        for v in [psi, chi2PValue, jsDistance, newCategoryRate] { w.optionalF64(v) }
    }

    public init(from r: inout ByteReader) throws(ByteReaderError) {
        count = try r.int()
        missing = try r.int()
        guard count >= 0, missing >= 0 else { throw ByteReaderError("negative metric counts") }
        psi = try r.optionalF64()
        chi2PValue = try r.optionalF64()
        jsDistance = try r.optionalF64()
        newCategoryRate = try r.optionalF64()
    }
}
