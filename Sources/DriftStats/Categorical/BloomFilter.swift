/// A Bloom filter over strings with a hash that is stable across processes and
/// machines (FNV-1a over UTF-8, then SplitMix64), so it can be stored in a profile.
///
/// Answers "definitely not present" or "probably present". With the default
/// 2^23 bits (1 MiB) and 4 probes the false-positive rate is about 2 % at a million
/// distinct values and below 0.01 % at a hundred thousand.
public struct BloomFilter: Sendable, Hashable {
    /// The bit array, 64 bits a word.
    public private(set) var words: [UInt64]
    /// Number of probes per value.
    public let probes: Int

    /// An empty filter of `bitCount` bits (rounded up to a power of two, at least 64).
    public init(bitCount: Int = 1 << 23, probes: Int = 4) {
        var bits = 64
        while bits < bitCount { bits <<= 1 }
        words = Array(repeating: 0, count: bits / 64)
        self.probes = max(1, probes)
    }

    /// A filter from stored words (a power-of-two count).
    public init?(words: [UInt64], probes: Int) {
        guard !words.isEmpty, words.count & (words.count - 1) == 0, probes > 0 else { return nil }
        self.words = words
        self.probes = probes
    }

    public mutating func insert(_ value: String) {
        let mask = UInt64(words.count * 64 - 1)
        var (h1, h2) = BloomFilter.hashes(value)
        for _ in 0..<probes {
            let bit = Int(h1 & mask)
            words[bit >> 6] |= 1 << UInt64(bit & 63)
            h1 &+= h2
        }
    }

    public func mightContain(_ value: String) -> Bool {
        let mask = UInt64(words.count * 64 - 1)
        var (h1, h2) = BloomFilter.hashes(value)
        for _ in 0..<probes {
            let bit = Int(h1 & mask)
            if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
            h1 &+= h2
        }
        return true
    }

    /// ``mightContain(_:)`` for a value given as UTF-8 bytes.
    public func mightContain(utf8 bytes: UnsafeRawBufferPointer) -> Bool {
        let mask = UInt64(words.count * 64 - 1)
        var (h1, h2) = BloomFilter.hashes(bytes)
        for _ in 0..<probes {
            let bit = Int(h1 & mask)
            if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
            h1 &+= h2
        }
        return true
    }

    static func hashes(_ value: String) -> (UInt64, UInt64) {
        var value = value
        return value.withUTF8 { hashes(UnsafeRawBufferPointer($0)) }
    }

    static func hashes(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let a = splitMix(h)
        return (a, splitMix(a) | 1)
    }

    static func splitMix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
