/// Appends little-endian binary values; the building block of Driftline's file
/// formats (profiles, snapshots, checkpoints, recordings).
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    public mutating func int(_ v: Int) { i64(Int64(v)) }

    public mutating func f64(_ v: Double) { u64(v.bitPattern) }

    public mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }

    public mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func raw(_ b: some Collection<UInt8>) {
        bytes.append(contentsOf: b)
    }

    public mutating func f64s(_ a: [Double]) {
        u64(UInt64(a.count))
        #if _endian(little)
        a.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in a { f64(v) }
        #endif
    }

    public mutating func u64s(_ a: [UInt64]) {
        u64(UInt64(a.count))
        #if _endian(little)
        a.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in a { u64(v) }
        #endif
    }

    public mutating func strings(_ a: [String]) {
        u64(UInt64(a.count))
        for s in a { string(s) }
    }
}

/// A malformed or truncated binary payload.
public struct ByteReaderError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads what ``ByteWriter`` wrote, checking every length against what is left, so
/// a corrupt payload fails with an error and never traps or over-allocates.
public struct ByteReader: Sendable {
    let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ n: Int) throws(ByteReaderError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw ByteReaderError("truncated at byte \(offset) (wanted \(n), \(remaining) left)") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    public mutating func u8() throws(ByteReaderError) -> UInt8 {
        try take(1).first!
    }

    public mutating func u32() throws(ByteReaderError) -> UInt32 {
        var v: UInt32 = 0
        for (i, b) in try take(4).enumerated() { v |= UInt32(b) << (8 * UInt32(i)) }
        return v
    }

    public mutating func u64() throws(ByteReaderError) -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    public mutating func i64() throws(ByteReaderError) -> Int64 { Int64(bitPattern: try u64()) }

    public mutating func int() throws(ByteReaderError) -> Int {
        let v = try i64()
        return Int(v)
    }

    /// A non-negative count that cannot exceed what is left at `unit` bytes each.
    public mutating func count(unit: Int) throws(ByteReaderError) -> Int {
        let v = try u64()
        guard v <= UInt64(remaining / max(unit, 1)) else { throw ByteReaderError("implausible count \(v) at byte \(offset - 8)") }
        return Int(v)
    }

    public mutating func f64() throws(ByteReaderError) -> Double { Double(bitPattern: try u64()) }

    public mutating func bool() throws(ByteReaderError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let b: throw ByteReaderError("invalid boolean \(b) at byte \(offset - 1)")
        }
    }

    public mutating func string() throws(ByteReaderError) -> String {
        let n = Int(try u32())
        let b = try take(n)
        guard let s = String(validating: b, as: UTF8.self) else { throw ByteReaderError("invalid UTF-8 string at byte \(offset - n)") }
        return s
    }

    public mutating func raw(_ n: Int) throws(ByteReaderError) -> [UInt8] { Array(try take(n)) }

    public mutating func f64s() throws(ByteReaderError) -> [Double] {
        try u64s().map { Double(bitPattern: $0) }
    }

    public mutating func u64s() throws(ByteReaderError) -> [UInt64] {
        let n = try count(unit: 8)
        let slice = try take(n * 8)
        #if _endian(little)
        return [UInt64](unsafeUninitializedCapacity: n) { buffer, initialized in
            slice.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            initialized = n
        }
        #else
        var a: [UInt64] = []
        a.reserveCapacity(n)
        var i = slice.startIndex
        for _ in 0..<n {
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(slice[i + k]) << (8 * UInt64(k)) }
            a.append(v)
            i += 8
        }
        return a
        #endif
    }

    public mutating func strings() throws(ByteReaderError) -> [String] {
        let n = try count(unit: 4)
        var a: [String] = []
        a.reserveCapacity(n)
        for _ in 0..<n { a.append(try string()) }
        return a
    }
}

/// CRC-32C (Castagnoli), the checksum of Driftline's file formats.
public enum CRC32C {
    /// Slicing-by-8 tables: `tables[k][b]` is the CRC of byte `b` followed by `k` zero bytes.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = t[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return t
    }()

    /// The checksum of `bytes`, continuing from `crc` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        guard let base = bytes.baseAddress else { return crc }
        let n = bytes.count
        tables.withUnsafeBufferPointer { t in
            var i = 0
            // Eight bytes per step: one 64-bit load, eight table lookups.
            while i + 8 <= n {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let lo = UInt32(truncatingIfNeeded: word) ^ c
                let hi = UInt32(truncatingIfNeeded: word >> 32)
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
