/// A batch of decoded events in columns, ready for the SIMD statistics kernels.
///
/// Row `i` of every column belongs to the same event. Numeric columns hold NaN for
/// a missing (absent or null) value. Categorical and model values are byte ranges
/// into ``bytes`` (the batch's arena of unescaped UTF-8), so decoding allocates no
/// `String` per value; a range with ``ByteRange/missing`` marks a missing value.
/// Batches are reused: ``removeAll()`` keeps every column's capacity.
public struct EventBatch: Sendable {
    /// A range of ``EventBatch/bytes``.
    public struct ByteRange: Sendable, Hashable {
        public var start: UInt32
        public var count: UInt32
        public init(start: UInt32, count: UInt32) {
            self.start = start
            self.count = count
        }

        /// A missing value.
        public static let missing = ByteRange(start: .max, count: 0)
        public var isMissing: Bool { start == .max }
    }

    /// Event times.
    public var timestamps: [EpochMicroseconds] = []
    /// Model ids (``ByteRange/missing`` when the event has none: model "default").
    public var models: [ByteRange] = []
    /// One column per configured numeric path, in config order.
    public var numeric: [[Double]]
    /// One column per configured categorical path, in config order.
    public var categorical: [[ByteRange]]
    /// Where each event came from: line number (1-based) for files, offset for Kafka.
    public var positions: [Int64] = []
    /// Unescaped bytes of categorical values and model ids.
    public var bytes: [UInt8] = []

    public init(numericCount: Int, categoricalCount: Int) {
        numeric = Array(repeating: [], count: numericCount)
        categorical = Array(repeating: [], count: categoricalCount)
    }

    /// Events in the batch.
    public var count: Int { timestamps.count }

    /// Empties the batch, keeping its capacity.
    public mutating func removeAll() {
        timestamps.removeAll(keepingCapacity: true)
        models.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        for i in numeric.indices { numeric[i].removeAll(keepingCapacity: true) }
        for i in categorical.indices { categorical[i].removeAll(keepingCapacity: true) }
    }

    /// The bytes of a range (do not escape the pointer).
    public func withBytes<R>(_ range: ByteRange, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[Int(range.start)..<Int(range.start + range.count)]))
        }
    }

    /// The string of a range (allocates; for tests and slow paths).
    public func string(_ range: ByteRange) -> String? {
        if range.isMissing { return nil }
        return withBytes(range) { String(decoding: $0, as: UTF8.self) }
    }
}

extension EventBatch {
    /// Appends row `i` of another batch with the same columns.
    public mutating func appendRow(_ i: Int, of other: EventBatch) {
        func copy(_ r: ByteRange) -> ByteRange {
            if r.isMissing { return .missing }
            let start = UInt32(bytes.count)
            bytes.append(contentsOf: other.bytes[Int(r.start)..<Int(r.start + r.count)])
            return ByteRange(start: start, count: r.count)
        }
        timestamps.append(other.timestamps[i])
        positions.append(other.positions[i])
        models.append(copy(other.models[i]))
        for f in numeric.indices { numeric[f].append(other.numeric[f][i]) }
        for f in categorical.indices { categorical[f].append(copy(other.categorical[f][i])) }
    }
}
