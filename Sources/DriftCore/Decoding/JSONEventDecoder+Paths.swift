/// What a configured path feeds.
enum PathTargetKind: UInt8 {
    case timestamp
    case model
    case numeric
    case categorical
}

/// One node of the path trie: an object key reached from the root by a path prefix.
struct PathNode {
    /// Children (the keys one level down) in ``CompiledPaths/children``.
    var firstChild: Int32
    var childCount: Int32
    /// Fields whose path ends here, in ``CompiledPaths/targets``.
    var firstTarget: Int32
    var targetCount: Int32
    /// Slots of every field at or below this node, in ``CompiledPaths/subtreeSlots``: a repeated
    /// key replaces its whole value, so they all go back to "absent" when it repeats.
    var firstSubtreeSlot: Int32
    var subtreeSlotCount: Int32
    /// For a node with more than ``CompiledPaths/linearSearchLimit`` children: its open
    /// addressing table in ``CompiledPaths/childHashes`` (size `hashMask + 1`, a power of
    /// two), else `hashMask` 0. Keys out of the hinted order are then found in O(1) instead
    /// of a scan over thousands of siblings.
    var firstHash: Int32 = 0
    var hashMask: Int32 = 0
    /// This object's first entry in a scan's learned key sequence (see ``LearnedKey``), or
    /// -1 when its keys are not learned (a leaf, or beyond ``CompiledPaths/learnedNodeLimit``).
    var learnedBase: Int32 = -1
}

/// A member's key as compact JSON writes it, quotes and colon included (`"amount":`), and
/// where it leads.
///
/// Keys seen at one member position of an object in an earlier event of the same scan run
/// are kept as these: events of one stream mostly repeat the same keys in the same order,
/// so the key at position `k` is first compared with the one last seen there. That matches
/// unconfigured keys (skipped without scanning or looking them up) as cheaply as configured
/// ones, whose own patterns (``PathChild/pattern``) serve when nothing is learned yet.
///
/// The pattern's first ``patternBytes`` bytes at most are kept as three little-endian words
/// with masks of the bytes present, so a key is matched with three loads and compares. The
/// key's raw bytes were validated when it was learned and hold no escape, so equal bytes
/// prove the same, valid key.
struct LearnedKey {
    /// The longest pattern: keys of up to 21 bytes.
    static let patternBytes = 24

    /// Nothing learned: `word0` has a bit its mask clears, so no input matches.
    var word0: UInt64 = 1
    var word1: UInt64 = 0
    var word2: UInt64 = 0
    var mask0: UInt64 = 0
    var mask1: UInt64 = 0
    var mask2: UInt64 = 0
    /// The pattern's length (the key's plus 3).
    var patternCount: Int32 = 0
    /// Where the key leads, so a match needs no second lookup.
    var target = KeyTarget()

    /// Nothing learned.
    init() {}

    /// The pattern of `key` (valid string content without escapes), leading nowhere; nothing
    /// learned when the key is too long for a pattern.
    init(key: UnsafeBufferPointer<UInt8>) {
        let count = key.count &+ 3
        guard count <= Self.patternBytes else { return }
        // `"`, the key, `"`, `:`.
        let byte = { (k: Int) -> UInt8 in k == 0 || k == count &- 2 ? 0x22 : k == count &- 1 ? 0x3A : key[k &- 1] }
        (word0, word1, word2) = (packedWord(0, count, byte), packedWord(1, count, byte), packedWord(2, count, byte))
        (mask0, mask1, mask2) = (presentBytes(0, count), presentBytes(1, count), presentBytes(2, count))
        patternCount = Int32(count)
    }
}

/// The mask of the bytes of a `count`-byte string that fall in its little-endian word
/// `word` (bytes `8 × word ..< 8 × word + 8`).
@inline(__always)
func presentBytes(_ word: Int, _ count: Int) -> UInt64 {
    let n = min(max(count &- 8 &* word, 0), 8)
    return n == 8 ? .max : (UInt64(1) &<< UInt64(8 &* n)) &- 1
}

/// Little-endian word `word` of the `count`-byte string whose bytes `byte` gives, the bytes
/// past its end 0.
func packedWord(_ word: Int, _ count: Int, _ byte: (Int) -> UInt8) -> UInt64 {
    var value: UInt64 = 0
    var k = 8 &* word
    while k < min(8 &* word &+ 8, count) {
        value |= UInt64(byte(k)) << UInt64(8 &* (k & 7))
        k &+= 1
    }
    return value
}

/// Where a key leads: the child it is (index into ``CompiledPaths/children``), or -1 for a
/// key off every configured path; then that child's node, and what kind of leaf it is (see
/// ``PathChild/pattern``) with the leaf's slot.
struct KeyTarget {
    var child: Int32 = -1
    var node: Int32 = -1
    var leafSlot: Int32 = -1
    var leaf = LeafKind.none
}

/// A node without children whose only field is numeric (the common leaf `"amount": 12.5`):
/// a number is stored straight away; categorical or the model (`"country": "DE"`): a
/// string is appended to the arena straight away; the timestamp: a number is converted and
/// stored straight away. Any other value takes the general path.
enum LeafKind: UInt8 {
    case none
    case numeric
    case string
    case timestamp
}

/// An edge of the path trie: the (unescaped) key bytes and, in its pattern's target, where it leads.
///
/// The first 16 key bytes are also kept as two little-endian words with masks, so a scanned
/// key is usually compared with two loads and compares instead of a byte loop.
struct PathChild {
    var keyStart: Int32
    var keyCount: Int32
    var firstByte: UInt8
    var word0: UInt64
    var word1: UInt64
    var mask0: UInt64
    var mask1: UInt64
    /// The key's pattern and where it leads (for a key that is not plain, printable ASCII
    /// without `"` and `\`, so that its raw bytes are its JSON text, or is too long, the
    /// pattern matches nothing but still says where the key leads).
    var pattern = LearnedKey()

    init(keyStart: Int, key: [UInt8], node: Int) {
        let isPlain = key.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }
        self.keyStart = Int32(keyStart)
        keyCount = Int32(key.count)
        firstByte = key.first ?? 0
        let count = min(key.count, 16)
        (word0, word1) = (packedWord(0, count) { key[$0] }, packedWord(1, count) { key[$0] })
        (mask0, mask1) = (presentBytes(0, count), presentBytes(1, count))
        if isPlain { pattern = key.withUnsafeBufferPointer { LearnedKey(key: $0) } }
        pattern.target.node = Int32(node)
    }
}

/// A short string value recently appended to the arena for a slot (``CompiledPaths/cachedStrings``
/// entries per slot, the entry chosen by the value's first two bytes, see
/// ``EventScanner/cachedStringEntry(_:)``): an equal value reuses its bytes instead of
/// appending them again, so a batch holds each repeated model id or category once (up to
/// collisions) and consumers can tell equal values by equal ranges.
///
/// The value (valid string content without escapes, at most 16 bytes) is kept as two
/// little-endian words with masks of the bytes present, so the next value can be compared
/// with it before being scanned: equal bytes and a closing quote prove an equal, valid string.
struct CachedString {
    /// An empty entry: `word0` has a bit its mask clears, so no input matches.
    var word0: UInt64 = 1
    var word1: UInt64 = 0
    var mask0: UInt64 = 0
    var mask1: UInt64 = 0
    /// The value's length (at most 16), or -1 for an empty entry.
    var count: Int = -1
    /// Its packed arena range.
    var range: UInt64 = 0
}

/// A field whose path ends at a node, and the slot that collects its value during a scan.
struct PathTarget {
    var kind: PathTargetKind
    var slot: Int32
}

/// The schema's dotted paths compiled into a trie, so that one pass over an event finds
/// every configured field.
///
/// Slots: 0 is the timestamp, 1 the model, then one per numeric path, then one per
/// categorical path, in config order.
///
/// `@unchecked Sendable`: the tables are written once in `init` and only read afterwards;
/// the class owns them and frees them in `deinit`.
final class CompiledPaths: @unchecked Sendable {
    let nodes: UnsafeMutableBufferPointer<PathNode>
    let children: UnsafeMutableBufferPointer<PathChild>
    let keyBytes: UnsafeMutableBufferPointer<UInt8>
    let targets: UnsafeMutableBufferPointer<PathTarget>
    let subtreeSlots: UnsafeMutableBufferPointer<Int32>
    /// Child indices (into ``children``) by key hash, -1 for a free entry; see ``PathNode/hashMask``.
    let childHashes: UnsafeMutableBufferPointer<Int32>
    let numericCount: Int
    let categoricalCount: Int
    var slotCount: Int { 2 + numericCount + categoricalCount }

    static let timestampSlot = 0
    static let modelSlot = 1
    /// Nodes with more children than this get a hash table.
    static let linearSearchLimit = 8
    /// Member positions learned per object, and objects that learn (the first ones with
    /// children, in trie order); ``learnedCount`` entries in all.
    static let learnedMembers = 32
    static let learnedNodeLimit = 64
    let learnedCount: Int
    /// Recent string values remembered per slot (see ``CachedString``): enough for the
    /// countries or devices of a stream.
    static let cachedStringBits = 5
    static let cachedStrings = 1 << cachedStringBits

    /// FNV-1a over a key's (unescaped) bytes.
    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for k in 0..<count { h = (h ^ UInt64(bytes[k])) &* 0x0000_0100_0000_01B3 }
        return h
    }

    init(schema: EventSchema) {
        numericCount = schema.numeric.count
        categoricalCount = schema.categorical.count

        // Build a pointer-free trie first: node 0 is the root.
        final class Builder {
            var children: [(key: [UInt8], node: Int)] = []
            var childByKey: [[UInt8]: Int] = [:]
            var targets: [PathTarget] = []
        }
        var built = [Builder()]
        func add(_ path: String, _ target: PathTarget) {
            var node = 0
            for segment in path.split(separator: ".", omittingEmptySubsequences: false) {
                let key = Array(segment.utf8)
                if let next = built[node].childByKey[key] {
                    node = next
                } else {
                    built.append(Builder())
                    built[node].children.append((key, built.count - 1))
                    built[node].childByKey[key] = built.count - 1
                    node = built.count - 1
                }
            }
            built[node].targets.append(target)
        }
        add(schema.timestamp, PathTarget(kind: .timestamp, slot: Int32(Self.timestampSlot)))
        if let model = schema.model { add(model, PathTarget(kind: .model, slot: Int32(Self.modelSlot))) }
        for (f, path) in schema.numeric.enumerated() {
            add(path, PathTarget(kind: .numeric, slot: Int32(2 + f)))
        }
        for (f, path) in schema.categorical.enumerated() {
            add(path, PathTarget(kind: .categorical, slot: Int32(2 + schema.numeric.count + f)))
        }

        // Flatten into contiguous tables.
        var nodeTable: [PathNode] = []
        var childTable: [PathChild] = []
        var keyTable: [UInt8] = []
        var targetTable: [PathTarget] = []
        var subtreeTable: [Int32] = []
        var hashTable: [Int32] = []
        func subtree(_ n: Int) -> [Int32] {
            built[n].targets.map(\.slot) + built[n].children.flatMap { subtree($0.node) }
        }
        for b in built.indices {
            let slots = subtree(b)
            var node = PathNode(
                firstChild: Int32(childTable.count), childCount: Int32(built[b].children.count),
                firstTarget: Int32(targetTable.count), targetCount: Int32(built[b].targets.count),
                firstSubtreeSlot: Int32(subtreeTable.count), subtreeSlotCount: Int32(slots.count))
            if built[b].children.count > Self.linearSearchLimit {
                var size = 1
                while size < 2 * built[b].children.count { size <<= 1 }
                var table = [Int32](repeating: -1, count: size)
                for (k, child) in built[b].children.enumerated() {
                    var e = Int(child.key.withUnsafeBufferPointer { Self.hash($0.baseAddress!, count: $0.count) } & UInt64(size - 1))
                    while table[e] >= 0 { e = (e + 1) & (size - 1) }
                    table[e] = Int32(childTable.count + k)
                }
                node.firstHash = Int32(hashTable.count)
                node.hashMask = Int32(size - 1)
                hashTable += table
            }
            nodeTable.append(node)
            subtreeTable += slots
            targetTable += built[b].targets
            for child in built[b].children {
                var edge = PathChild(keyStart: keyTable.count, key: child.key, node: child.node)
                edge.pattern.target.child = Int32(childTable.count)
                let leaf = built[child.node]
                if leaf.children.isEmpty && leaf.targets.count == 1 {
                    edge.pattern.target.leafSlot = leaf.targets[0].slot
                    switch leaf.targets[0].kind {
                    case .numeric: edge.pattern.target.leaf = .numeric
                    case .categorical, .model: edge.pattern.target.leaf = .string
                    case .timestamp: edge.pattern.target.leaf = .timestamp
                    }
                }
                childTable.append(edge)
                keyTable += child.key
            }
        }
        func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
            _ = buffer.initialize(from: array)
            return buffer
        }
        var learned = 0
        for n in nodeTable.indices where nodeTable[n].childCount > 0 && learned < Self.learnedNodeLimit * Self.learnedMembers {
            nodeTable[n].learnedBase = Int32(learned)
            learned += Self.learnedMembers
        }
        learnedCount = learned
        nodes = copy(nodeTable)
        children = copy(childTable)
        keyBytes = copy(keyTable)
        targets = copy(targetTable)
        subtreeSlots = copy(subtreeTable)
        childHashes = copy(hashTable)
    }

    deinit {
        nodes.deallocate()
        children.deallocate()
        keyBytes.deallocate()
        targets.deallocate()
        subtreeSlots.deallocate()
        childHashes.deallocate()
    }
}
