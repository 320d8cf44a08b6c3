/// Counts the categories of a reference in bounded memory and picks the top `K`.
///
/// Exact while the reference has at most `capacity` distinct values. When the table
/// reaches twice the capacity it is pruned to the `capacity` most frequent values
/// (a frequent-items summary, amortized O(1) per value): every value more frequent
/// than `total / capacity` survives, and a surviving count may miss at most
/// ``maximumUndercount`` occurrences (the sum of the pruning thresholds).
/// Every value also goes into a ``BloomFilter`` so a window can tell a rare
/// reference category from a new one.
public struct CategoryCounter: Sendable {
    /// Distinct values kept after a pruning.
    public let capacity: Int
    private var counts: [String: UInt64] = [:]
    /// Occurrences a kept count may be missing because of pruning (0 while exact).
    public private(set) var maximumUndercount: UInt64 = 0
    /// True once a pruning happened.
    public private(set) var wasPruned = false
    /// Values counted (not missing).
    public private(set) var total: UInt64 = 0
    /// Missing values.
    public private(set) var missing: UInt64 = 0
    private var membership = BloomFilter()

    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    /// True while every count is exact.
    public var isExact: Bool { !wasPruned }

    public mutating func add(_ value: String) {
        total &+= 1
        membership.insert(value)
        counts[value, default: 0] &+= 1
        if counts.count >= 2 * capacity { prune() }
    }

    private mutating func prune() {
        let ranked = counts.sorted { a, b in a.value != b.value ? a.value > b.value : a.key < b.key }
        let threshold = ranked[capacity].value
        counts = Dictionary(uniqueKeysWithValues: ranked.prefix(capacity).map { ($0.key, $0.value) })
        maximumUndercount &+= threshold
        wasPruned = true
    }

    public mutating func addMissing(_ n: Int = 1) {
        missing &+= UInt64(n)
    }

    /// The `k` most frequent values and their reference counts.
    ///
    /// - Returns: The dictionary (with a membership filter when the reference had more
    ///   than `k` distinct values) and the reference's ``CategoricalCounts`` over it,
    ///   whose `__other__` slot holds every value outside the top `k`.
    public func dictionary(topK k: Int) -> (CategoryDictionary, CategoricalCounts) {
        let ranked = counts.sorted { a, b in a.value != b.value ? a.value > b.value : a.key < b.key }
        let top = ranked.prefix(max(0, k))
        let complete = ranked.count <= k && isExact
        let dictionary = CategoryDictionary(
            categories: top.map(\.key), knownCategories: complete ? nil : membership)
        var slotCounts = top.map(\.value)
        let inTop = slotCounts.reduce(0, &+)
        slotCounts.append(total >= inTop ? total - inTop : 0)
        return (dictionary, CategoricalCounts(counts: slotCounts, unseen: 0, missing: missing))
    }
}
