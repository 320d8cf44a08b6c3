/// The reference categories of a categorical feature: the `K` most frequent values
/// of the reference, plus a membership filter of all of them when there were more.
///
/// Window values are mapped to *codes*: `0..<K` for a reference category,
/// ``otherCode`` for a value outside the dictionary that the reference had, and
/// ``unseenCode`` for a value the reference never had (a new category). Codes are
/// what ``CategoricalCounts`` counts, so its memory is `K + 1` counters whatever
/// the cardinality of the stream.
public struct CategoryDictionary: Sendable {
    /// Reference categories, most frequent first (ties in ascending order).
    public let categories: [String]
    /// True when every category of the reference is in ``categories``; otherwise
    /// ``knownCategories`` says which values the reference had.
    public var isComplete: Bool { knownCategories == nil }
    /// Membership of every reference category, when the reference had more than `K`.
    public let knownCategories: BloomFilter?
    let index: [String: UInt32]
    /// Open-addressing table for lookups by UTF-8 bytes without building a String:
    /// each slot holds the 32-bit hash in the high half and the category index + 1
    /// in the low half (0: empty). At most half full.
    let byteSlots: [UInt64]
    let utf8: [[UInt8]]

    /// Code for a value outside the dictionary that the reference had (`__other__`).
    public var otherCode: UInt32 { UInt32(categories.count) }
    /// Code for a value the reference never had (counted in `__other__` and as new).
    public var unseenCode: UInt32 { UInt32(categories.count) + 1 }
    /// Code for a missing value.
    public static let missingCode: UInt32 = .max

    /// The name under which values outside the dictionary are reported.
    public static let otherName = "__other__"

    /// Creates a dictionary from its parts.
    ///
    /// - Parameters:
    ///   - categories: The reference categories, distinct, in their reporting order.
    ///   - knownCategories: Membership of all reference categories, or `nil` when
    ///     `categories` holds all of them.
    public init(categories: [String], knownCategories: BloomFilter? = nil) {
        self.categories = categories
        self.knownCategories = knownCategories
        var index: [String: UInt32] = [:]
        index.reserveCapacity(categories.count)
        for (i, c) in categories.enumerated() where index[c] == nil {
            index[c] = UInt32(i)
        }
        self.index = index
        utf8 = categories.map { Array($0.utf8) }
        var size = 16
        while size < 2 * categories.count { size <<= 1 }
        var slots = [UInt64](repeating: 0, count: size)
        for (i, bytes) in utf8.enumerated() where index[categories[i]] == UInt32(i) {
            let h = bytes.withUnsafeBytes { CategoryDictionary.hash32($0) }
            var s = Int(h) & (size - 1)
            while slots[s] != 0 { s = (s + 1) & (size - 1) }
            slots[s] = UInt64(h) << 32 | UInt64(i + 1)
        }
        byteSlots = slots
    }

    static func hash32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811c_9dc5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }

    /// The code of a window value given as UTF-8 bytes (same as ``code(of:)``), without
    /// allocating.
    public func code(ofUTF8 bytes: UnsafeRawBufferPointer) -> UInt32 {
        let h = CategoryDictionary.hash32(bytes)
        let mask = byteSlots.count - 1
        var s = Int(h) & mask
        while true {
            let slot = byteSlots[s]
            if slot == 0 { break }
            if UInt32(truncatingIfNeeded: slot >> 32) == h {
                let i = Int(UInt32(truncatingIfNeeded: slot)) - 1
                if utf8[i].withUnsafeBytes({ $0.elementsEqual(bytes) }) { return UInt32(i) }
            }
            s = (s + 1) & mask
        }
        if let knownCategories, knownCategories.mightContain(utf8: bytes) { return otherCode }
        return unseenCode
    }

    /// The code of a window value (see ``CategoryDictionary``).
    public func code(of value: String) -> UInt32 {
        if let id = index[value] { return id }
        if let knownCategories, knownCategories.mightContain(value) { return otherCode }
        return unseenCode
    }
}

extension CategoryDictionary: Hashable {
    public static func == (a: CategoryDictionary, b: CategoryDictionary) -> Bool {
        a.categories == b.categories && a.knownCategories == b.knownCategories
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(categories)
    }
}

/// Counts of a categorical feature over a ``CategoryDictionary``.
///
/// `counts` has one entry per dictionary category and a last one for `__other__`
/// (which includes unseen values); ``unseen`` counts the values the reference never
/// had. Integer counts: merges are exact under any split and order.
public struct CategoricalCounts: Sendable, Hashable {
    /// Per category code, then `__other__` last.
    public private(set) var counts: [UInt64]
    /// Values the reference never had (also counted in `__other__`).
    public private(set) var unseen: UInt64 = 0
    /// Missing values.
    public private(set) var missing: UInt64 = 0

    /// Empty counts for a dictionary of `categoryCount` categories.
    public init(categoryCount: Int) {
        counts = Array(repeating: 0, count: categoryCount + 1)
    }

    /// Counts from parts (for decoding stored summaries).
    public init(counts: [UInt64], unseen: UInt64, missing: UInt64) {
        precondition(!counts.isEmpty, "categorical counts need at least the __other__ slot")
        self.counts = counts
        self.unseen = unseen
        self.missing = missing
    }

    /// Non-missing values counted.
    public var total: UInt64 { counts.reduce(0, &+) }

    /// Adds a batch of codes from ``CategoryDictionary/code(of:)`` (or
    /// ``CategoryDictionary/missingCode``). Codes beyond the dictionary count as unseen.
    public mutating func add(codes: UnsafeBufferPointer<UInt32>) {
        let other = UInt32(counts.count - 1)
        var unseen: UInt64 = 0, missing: UInt64 = 0
        counts.withUnsafeMutableBufferPointer { c in
            for code in codes {
                if code == CategoryDictionary.missingCode {
                    missing &+= 1
                } else if code < other {
                    c[Int(code)] &+= 1
                } else {
                    c[Int(other)] &+= 1
                    unseen &+= code > other ? 1 : 0
                }
            }
        }
        self.unseen &+= unseen
        self.missing &+= missing
    }

    /// Adds a batch of codes.
    public mutating func add(codes: [UInt32]) {
        codes.withUnsafeBufferPointer { add(codes: $0) }
    }

    /// Counts `n` missing values.
    public mutating func addMissing(_ n: Int) {
        missing &+= UInt64(n)
    }

    /// Adds counts over the same dictionary.
    ///
    /// - Precondition: both have the same number of slots.
    public mutating func merge(_ other: CategoricalCounts) {
        precondition(other.counts.count == counts.count, "merging counts over different dictionaries")
        for i in counts.indices { counts[i] &+= other.counts[i] }
        unseen &+= other.unseen
        missing &+= other.missing
    }
}
