/// What a slot holds after a scan: nothing (absent or null), a value, or why the value
/// cannot be used. A later occurrence of the same key overwrites it (the last value wins).
enum SlotState: UInt8 {
    case absent = 0
    case present
    case notANumber
    case numberOutOfRange
    case invalidCategory
    case invalidModel
    case invalidTimestamp

    var rejectReason: RejectReason? {
        switch self {
        case .absent, .present: nil
        case .notANumber: .notANumber
        case .numberOutOfRange: .numberOutOfRange
        case .invalidCategory: .invalidCategory
        case .invalidModel: .invalidModel
        case .invalidTimestamp: .invalidTimestamp
        }
    }
}

/// A number as scanned: its text range and its decimal form `mantissa × 10^exponent`.
struct ScannedNumber {
    var start = 0
    var end = 0
    /// The first (at most 19) significant digits.
    var mantissa: UInt64 = 0
    var exponent = 0
    var negative = false
    /// Nonzero digits were dropped after the 19th significant one.
    var truncated = false
    /// Written without fraction or exponent.
    var isInteger = true
}

/// One pass over one event: validates the whole document (RFC 8259) and collects the
/// values at configured paths into slots.
///
/// Every read of the input goes through a bounds check against `end` (``byte(_:)`` reads
/// past the end as 0, which no grammar rule accepts), and index arithmetic wraps (`&+`), so
/// no input can trap. Functions return `false` after setting ``error``.
///
/// Helpers that only read the scanner are still `mutating`: called on the `inout` scanner, a
/// non-mutating call made the optimizer copy all 208 bytes of it first (seen in the release
/// build's disassembly as a `memcpy` per key).
struct EventScanner {
    let p: UnsafePointer<UInt8>
    let end: Int
    var i = 0
    let maxDepth: Int
    var error = RejectReason.malformedJSON

    // The last string scanned: content range (without quotes) and whether it has escapes.
    var stringStart = 0
    var stringEnd = 0
    var stringEscaped = false
    // The last number scanned.
    var number = ScannedNumber()
    /// Whitespace skipped so far held a line feed (see ``scanLineEvent(arena:)``).
    var crossedLineFeed = false
    /// Objects with learned keys met so far in this event, one bit each (by
    /// ``PathNode/learnedBase``; at most ``CompiledPaths/learnedNodeLimit`` of them).
    var visitedObjects: UInt64 = 0

    let nodes: UnsafeMutableBufferPointer<PathNode>
    let children: UnsafeMutableBufferPointer<PathChild>
    let keyBytes: UnsafeMutableBufferPointer<UInt8>
    let targets: UnsafeMutableBufferPointer<PathTarget>
    let subtreeSlots: UnsafeMutableBufferPointer<Int32>
    let childHashes: UnsafeMutableBufferPointer<Int32>
    /// Slot values: timestamp µs, packed byte ranges (start << 32 | count), double bits.
    let values: UnsafeMutablePointer<UInt64>
    /// Slot states (``SlotState`` raw values).
    let states: UnsafeMutablePointer<UInt8>
    /// One bit per nesting level while skipping: 1 = object, 0 = array.
    let containerBits: UnsafeMutablePointer<UInt64>
    /// Key sequences learned from earlier events (``PathNode/learnedBase``), or nil.
    let learned: UnsafeMutablePointer<LearnedKey>?
    /// Recent string values per slot (``CachedString``), or nil.
    let strings: UnsafeMutablePointer<CachedString>?

    init(
        event: UnsafeRawBufferPointer, maxDepth: Int, paths: CompiledPaths,
        values: UnsafeMutablePointer<UInt64>, states: UnsafeMutablePointer<UInt8>,
        containerBits: UnsafeMutablePointer<UInt64>, learned: UnsafeMutablePointer<LearnedKey>? = nil,
        strings: UnsafeMutablePointer<CachedString>? = nil
    ) {
        self.learned = learned
        self.strings = strings
        // The caller checked that the event is not empty.
        p = event.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
        end = event.count
        self.maxDepth = maxDepth
        nodes = paths.nodes
        children = paths.children
        keyBytes = paths.keyBytes
        targets = paths.targets
        subtreeSlots = paths.subtreeSlots
        childHashes = paths.childHashes
        self.values = values
        self.states = states
        self.containerBits = containerBits
    }

    // MARK: - Bytes

    /// The byte at `j`, or 0 past the end.
    @inline(__always)
    func byte(_ j: Int) -> UInt8 {
        j < end ? p[j] : 0
    }

    @inline(__always)
    mutating func fail(_ reason: RejectReason) -> Bool {
        error = reason
        return false
    }

    @inline(__always)
    mutating func skipWhitespace() {
        // Compact NDJSON has no whitespace between tokens: one compare decides.
        if i < end && p[i] > 0x20 { return }
        skipWhitespaceSlow()
    }

    @inline(never)
    mutating func skipWhitespaceSlow() {
        while i < end {
            let b = p[i]
            if b > 0x20 || (b != 0x20 && b != 0x0A && b != 0x0D && b != 0x09) { return }
            if b == 0x0A { crossedLineFeed = true }
            i &+= 1
        }
    }

    // MARK: - Event

    /// Scans the whole event: one object (the root of the path trie) with optional
    /// surrounding whitespace.
    mutating func scanEvent(arena: inout [UInt8]) -> Bool {
        skipWhitespace()
        if byte(i) != 0x7B {  // {
            // Valid JSON that is not an object is `notAnObject`; anything else is malformed.
            guard i < end else { return fail(.malformedJSON) }
            guard skipValue(depth: 0) else { return false }
            skipWhitespace()
            return fail(i == end ? .notAnObject : .malformedJSON)
        }
        guard parseObject(node: 0, depth: 1, arena: &arena) else { return false }
        skipWhitespace()
        return i == end ? true : fail(.malformedJSON)
    }

    /// Scans the event at the start of NDJSON text without knowing where its line ends:
    /// leading whitespace, one object, then LF, CRLF, a CR at the end or the end itself.
    ///
    /// Valid JSON can hold a raw LF only as whitespace, and no whitespace crossed one, so on
    /// success the object lies within its line and every value read is what a scan of the
    /// line alone reads. Returns false otherwise (also for an event with trailing spaces):
    /// the caller then finds the line's end and scans the line alone, which decides.
    ///
    /// - Parameter atEnd: Whether `end` is the end of the text (else only a limit).
    mutating func scanLineEvent(atEnd: Bool, arena: inout [UInt8]) -> Bool {
        skipWhitespace()
        guard byte(i) == 0x7B, parseObject(node: 0, depth: 1, arena: &arena), !crossedLineFeed else { return false }
        if i == end { return atEnd }
        let b = p[i]
        if b == 0x0A { return true }
        guard b == 0x0D else { return false }
        if i &+ 1 == end { return atEnd }
        return p[i &+ 1] == 0x0A
    }

    /// Parses an object whose key set matters (it lies on a configured path). `p[i]` is `{`.
    mutating func parseObject(node: Int, depth: Int, arena: inout [UInt8]) -> Bool {
        if depth > maxDepth { return fail(.nestingTooDeep) }
        i &+= 1
        skipWhitespace()
        if byte(i) == 0x7D {  // }
            i &+= 1
            return true
        }
        let firstChild = Int(nodes[node].firstChild)
        let lastChild = firstChild &+ Int(nodes[node].childCount)
        // The child found for the previous member that had one: the next key is first
        // expected to be the child after it (keys usually come in schema order). Only a hint
        // for the search, so while keys match the learned ones it is not kept up: the learned
        // key of the position before tells. (Past the learned positions it may be stale for
        // one member.)
        var lastFound = -1
        // This object's learned keys, one per member position, while there are any.
        var learnedKeys: UnsafeMutablePointer<LearnedKey>? = nil
        var learnedLeft = 0
        if let learned, nodes[node].learnedBase >= 0 {
            learnedKeys = learned + Int(nodes[node].learnedBase)
            learnedLeft = CompiledPaths.learnedMembers
        }
        while true {
            let target: KeyTarget
            if learnedLeft > 0 && matchesPattern(learnedKeys.unsafelyUnwrapped.pointee) {
                // The key seen at this position before, with its quotes and the colon: no
                // need to scan the string or look it up, and where it leads is learned too.
                target = learnedKeys.unsafelyUnwrapped.pointee.target
            } else {
                guard byte(i) == 0x22 else { return fail(.malformedJSON) }
                if learnedLeft > 0 && learnedLeft < CompiledPaths.learnedMembers {
                    let previous = Int((learnedKeys.unsafelyUnwrapped - 1).pointee.target.child)
                    if previous >= 0 { lastFound = previous }
                }
                let hint = lastFound < 0 || lastFound &+ 1 == lastChild ? firstChild : lastFound &+ 1
                var key: LearnedKey
                if hint < lastChild && matchesPattern(children[hint].pattern) {
                    // The expected key, with its quotes and the colon: no need to scan the string.
                    key = children[hint].pattern
                    lastFound = hint
                } else {
                    guard scanString() else { return false }
                    let found = lookup(node: node, hint: hint)
                    key = learnedKeyForScannedString()
                    if found >= 0 {
                        key.target = children[found].pattern.target
                        lastFound = found
                    }
                    skipWhitespace()
                    guard byte(i) == 0x3A else { return fail(.malformedJSON) }  // :
                    i &+= 1
                }
                if learnedLeft > 0 { learnedKeys.unsafelyUnwrapped.pointee = key }
                target = key.target
            }
            if learnedLeft > 0 {
                learnedLeft &-= 1
                learnedKeys = learnedKeys.unsafelyUnwrapped + 1
            }
            // Past the colon.
            skipWhitespace()
            let b = byte(i)
            let isNumber = b == 0x2D || b &- 0x30 <= 9
            if target.leaf == .numeric && isNumber {
                // A leaf with one numeric field holding a number: the common case, stored here
                // without the general member logic (the slot it would reset is overwritten).
                guard scanNumericLeaf(slot: Int(target.leafSlot)) else { return false }
            } else if target.leaf == .string && b == 0x22 {
                // A leaf with one categorical or model field holding a string: what
                // ``parseMember(node:depth:arena:)`` does for it, without the general logic.
                let slot = Int(target.leafSlot)
                if let range = matchCachedString(slot: slot) {
                    values[slot] = range
                } else {
                    guard scanString() else { return false }
                    values[slot] = appendStringCached(slot: slot, to: &arena)
                }
                states[slot] = SlotState.present.rawValue
            } else if target.leaf == .timestamp && isNumber {
                guard scanTimestampLeaf() else { return false }
            } else if target.node < 0 {
                guard skipValue(depth: depth) else { return false }
            } else {
                guard parseMember(node: Int(target.node), depth: depth, arena: &arena) else { return false }
            }
            if i < end && p[i] == 0x2C {
                // Compact `,`: the next key usually follows at once.
                i &+= 1
                skipWhitespace()
                continue
            }
            skipWhitespace()
            let c = byte(i)
            i &+= 1
            if c == 0x2C {  // ,
                skipWhitespace()
                continue
            }
            if c == 0x7D { return true }  // }
            return fail(.malformedJSON)
        }
    }

    /// Scans the number at `i` and stores its value in `slot`.
    ///
    /// Its own small function: ``parseObject(node:depth:arena:)`` is too large for the
    /// optimizer to inline the scan and the conversion into it, while here both are inlined
    /// and the scanned fields stay in registers.
    @inline(never)
    mutating func scanNumericLeaf(slot: Int) -> Bool {
        var mantissa: UInt64 = 0
        var fractionDigits = 0
        let plainEnd = Self.scanPlainDecimal(p, end, from: i, mantissa: &mantissa, fractionDigits: &fractionDigits)
        if plainEnd >= 0 {
            // At most 19 digits scaled by at most 10^-19: always finite.
            let negative = p[i] == 0x2D
            let x =
                DecimalToDouble.clinger(mantissa: mantissa, exponent: -fractionDigits, negative: negative)
                ?? DecimalToDouble.convert(
                    mantissa: mantissa, exponent: -fractionDigits, negative: negative, truncated: false,
                    text: UnsafeRawBufferPointer(start: p + i, count: plainEnd &- i))
            i = plainEnd
            values[slot] = x.bitPattern
            states[slot] = SlotState.present.rawValue
            return true
        }
        var scanned = ScannedNumber()
        let next = Self.scanNumber(p, end, from: i, into: &scanned)
        guard next >= 0 else { return fail(.malformedJSON) }
        i = next
        if !scanned.truncated,
            let exact = DecimalToDouble.clinger(
                mantissa: scanned.mantissa, exponent: scanned.exponent, negative: scanned.negative)
        {
            // At most 2^53 divided or multiplied by at most 10^22: always finite.
            values[slot] = exact.bitPattern
            states[slot] = SlotState.present.rawValue
            return true
        }
        let x = Self.value(of: scanned, in: p)
        values[slot] = x.bitPattern
        states[slot] = (x.isFinite ? SlotState.present : SlotState.numberOutOfRange).rawValue
        return true
    }

    /// Scans the number at `i` and stores it as the event time (or marks the timestamp
    /// invalid), as ``parseMember(node:depth:arena:)`` does for a timestamp leaf.
    @inline(never)
    mutating func scanTimestampLeaf() -> Bool {
        let slot = CompiledPaths.timestampSlot
        var scanned = ScannedNumber()
        var mantissa: UInt64 = 0
        var fractionDigits = 0
        let plainEnd = Self.scanPlainDecimal(p, end, from: i, mantissa: &mantissa, fractionDigits: &fractionDigits)
        if plainEnd >= 0 && fractionDigits == 0 {
            // An integer of at most 15 digits, as ``timestamp(of:in:)`` takes it.
            let v = Int64(mantissa)
            let time = EventTime.fromEpochInteger(p[i] == 0x2D ? -v : v)
            i = plainEnd
            if let time {
                values[slot] = UInt64(bitPattern: time)
                states[slot] = SlotState.present.rawValue
            } else {
                states[slot] = SlotState.invalidTimestamp.rawValue
            }
            return true
        }
        let next = Self.scanNumber(p, end, from: i, into: &scanned)
        guard next >= 0 else { return fail(.malformedJSON) }
        i = next
        if let t = Self.timestamp(of: scanned, in: p) {
            values[slot] = UInt64(bitPattern: t)
            states[slot] = SlotState.present.rawValue
        } else {
            states[slot] = SlotState.invalidTimestamp.rawValue
        }
        return true
    }

    /// The child of `node` whose key equals the string just scanned, or -1.
    ///
    /// The search starts at `hint` and wraps around: keys usually arrive in the order the
    /// schema lists them, so the first candidate tried is usually the one.
    @inline(__always)
    mutating func lookup(node: Int, hint: Int) -> Int {
        let n = nodes[node]
        let count = stringEnd &- stringStart
        let first = Int(n.firstChild)
        let childCount = Int(n.childCount)
        if childCount == 0 { return -1 }
        var c = hint
        if !stringEscaped && n.hashMask != 0 {
            // Many siblings: the hinted one first (keys usually come in schema order), then
            // one probe sequence instead of a scan.
            let hinted = children[c]
            if Int(hinted.keyCount) == count && restEquals(hinted, from: 0) { return c }
            let mask = Int(n.hashMask)
            var e = Int(truncatingIfNeeded: CompiledPaths.hash(p + stringStart, count: count)) & mask
            while true {
                let candidate = Int(childHashes[Int(n.firstHash) &+ e])
                if candidate < 0 { return -1 }
                if Int(children[candidate].keyCount) == count && restEquals(children[candidate], from: 0) { return candidate }
                e = (e &+ 1) & mask
            }
        }
        if !stringEscaped {
            let firstByte = count > 0 ? p[stringStart] : 0
            if stringStart &+ 16 <= end {
                let raw = UnsafeRawPointer(p + stringStart)
                let w0 = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
                let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                for _ in 0..<childCount {
                    let child = children[c]
                    if Int(child.keyCount) == count && w0 & child.mask0 == child.word0 && w1 & child.mask1 == child.word1
                        && (count <= 16 || restEquals(child, from: 16))
                    {
                        return c
                    }
                    c &+= 1
                    if c == first &+ childCount { c = first }
                }
            } else {
                for _ in 0..<childCount {
                    let child = children[c]
                    if Int(child.keyCount) == count && child.firstByte == firstByte && restEquals(child, from: 1) {
                        return c
                    }
                    c &+= 1
                    if c == first &+ childCount { c = first }
                }
            }
        } else {
            for _ in 0..<childCount {
                let child = children[c]
                let key = Int(child.keyStart)
                if Self.escapedStringEquals(p, stringStart, stringEnd, key: keyBytes[key..<key &+ Int(child.keyCount)]) {
                    return c
                }
                c &+= 1
                if c == first &+ childCount { c = first }
            }
        }
        return -1
    }

    /// Whether the bytes at `i` are exactly `key`'s pattern (`"key":`); on a match, moves
    /// past them. The key's bytes are known valid string content without escapes, so equal
    /// bytes prove the same, valid key.
    @inline(__always)
    mutating func matchesPattern(_ key: LearnedKey) -> Bool {
        guard i &+ LearnedKey.patternBytes <= end else { return false }
        let raw = UnsafeRawPointer(p + i)
        let w0 = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let w2 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        guard w0 & key.mask0 == key.word0 && w1 & key.mask1 == key.word1 && w2 & key.mask2 == key.word2 else {
            return false
        }
        i &+= Int(key.patternCount)
        return true
    }

    /// The string just scanned as a learned key (leading nowhere until the caller says
    /// otherwise); an escaped key, or one too long for a pattern, is not learned.
    @inline(never)
    func learnedKeyForScannedString() -> LearnedKey {
        guard !stringEscaped else { return LearnedKey() }
        return LearnedKey(key: UnsafeBufferPointer(start: p + stringStart, count: stringEnd &- stringStart))
    }

    /// Whether the scanned (unescaped) string equals `child`'s key from byte `from` on; the
    /// lengths are already known to be equal.
    @inline(__always)
    func restEquals(_ child: PathChild, from: Int) -> Bool {
        let key = Int(child.keyStart)
        var k = from
        let count = Int(child.keyCount)
        while k < count {
            if keyBytes[key &+ k] != p[stringStart &+ k] { return false }
            k &+= 1
        }
        return true
    }

    /// Parses the value of a key that is on a configured path. `p[i]` is the value's first byte.
    @inline(__always)
    mutating func parseMember(node index: Int, depth: Int, arena: inout [UInt8]) -> Bool {
        let node = nodes[index]
        // The key may repeat: this value replaces everything an earlier one set. (Every slot
        // starts absent, so an object that learns its keys, seen for the first time in
        // this event, has nothing to reset.)
        var firstVisit = false
        if node.learnedBase >= 0 {
            let bit = UInt64(1) &<< UInt64(truncatingIfNeeded: Int(node.learnedBase) / CompiledPaths.learnedMembers)
            firstVisit = visitedObjects & bit == 0
            visitedObjects |= bit
        }
        if !firstVisit {
            var s = Int(node.firstSubtreeSlot)
            let lastSlot = s &+ Int(node.subtreeSlotCount)
            while s < lastSlot {
                states[Int(subtreeSlots[s])] = SlotState.absent.rawValue
                s &+= 1
            }
        }
        if node.targetCount == 0 {
            if byte(i) == 0x7B && node.childCount > 0 {
                return parseObject(node: index, depth: depth &+ 1, arena: &arena)
            }
            return skipValue(depth: depth)
        }
        let firstTarget = Int(node.firstTarget)
        let lastTarget = firstTarget &+ Int(node.targetCount)
        switch byte(i) {
        case 0x22:  // "
            guard scanString() else { return false }
            var range: UInt64? = nil
            for t in firstTarget..<lastTarget {
                let target = targets[t]
                let slot = Int(target.slot)
                switch target.kind {
                case .numeric:
                    states[slot] = SlotState.notANumber.rawValue
                case .categorical, .model:
                    if range == nil { range = appendString(to: &arena) }
                    values[slot] = range.unsafelyUnwrapped
                    states[slot] = SlotState.present.rawValue
                case .timestamp:
                    if let t = stringTimestamp() {
                        values[slot] = UInt64(bitPattern: t)
                        states[slot] = SlotState.present.rawValue
                    } else {
                        states[slot] = SlotState.invalidTimestamp.rawValue
                    }
                }
            }
            return true
        case 0x2D, 0x30...0x39:  // - 0-9
            guard scanNumber() else { return false }
            var range: UInt64? = nil
            for t in firstTarget..<lastTarget {
                let target = targets[t]
                let slot = Int(target.slot)
                switch target.kind {
                case .numeric:
                    let x = numberValue()
                    if x.isFinite {
                        values[slot] = x.bitPattern
                        states[slot] = SlotState.present.rawValue
                    } else {
                        states[slot] = SlotState.numberOutOfRange.rawValue
                    }
                case .categorical, .model:
                    if target.kind == .model && !number.isInteger {
                        states[slot] = SlotState.invalidModel.rawValue
                        continue
                    }
                    // The number's text as written.
                    if range == nil { range = appendRaw(number.start, number.end, to: &arena) }
                    values[slot] = range.unsafelyUnwrapped
                    states[slot] = SlotState.present.rawValue
                case .timestamp:
                    if let t = numberTimestamp() {
                        values[slot] = UInt64(bitPattern: t)
                        states[slot] = SlotState.present.rawValue
                    } else {
                        states[slot] = SlotState.invalidTimestamp.rawValue
                    }
                }
            }
            return true
        case 0x74, 0x66:  // t f
            let isTrue = byte(i) == 0x74
            guard skipLiteral() else { return false }
            var range: UInt64? = nil
            for t in firstTarget..<lastTarget {
                let target = targets[t]
                let slot = Int(target.slot)
                switch target.kind {
                case .numeric: states[slot] = SlotState.notANumber.rawValue
                case .model: states[slot] = SlotState.invalidModel.rawValue
                case .timestamp: states[slot] = SlotState.invalidTimestamp.rawValue
                case .categorical:
                    if range == nil {
                        let start = arena.count
                        arena.append(contentsOf: isTrue ? Self.trueBytes : Self.falseBytes)
                        range = Self.packRange(start, arena.count &- start)
                    }
                    values[slot] = range.unsafelyUnwrapped
                    states[slot] = SlotState.present.rawValue
                }
            }
            return true
        case 0x6E:  // n: null is a missing value; the slots were reset above.
            return skipLiteral()
        case 0x7B, 0x5B:  // { [
            for t in firstTarget..<lastTarget {
                let target = targets[t]
                let state: SlotState
                switch target.kind {
                case .numeric: state = .notANumber
                case .categorical: state = .invalidCategory
                case .model: state = .invalidModel
                case .timestamp: state = .invalidTimestamp
                }
                states[Int(target.slot)] = state.rawValue
            }
            if byte(i) == 0x7B && node.childCount > 0 {
                // A path that is both a field and the prefix of other fields.
                return parseObject(node: index, depth: depth &+ 1, arena: &arena)
            }
            return skipValue(depth: depth)
        default:
            return fail(.malformedJSON)
        }
    }

    static let trueBytes: [UInt8] = Array("true".utf8)
    static let falseBytes: [UInt8] = Array("false".utf8)

    @inline(__always)
    static func packRange(_ start: Int, _ count: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: start)) << 32 | UInt64(UInt32(truncatingIfNeeded: count))
    }

    @inline(__always)
    static func unpackRange(_ packed: UInt64) -> EventBatch.ByteRange {
        EventBatch.ByteRange(start: UInt32(truncatingIfNeeded: packed >> 32), count: UInt32(truncatingIfNeeded: packed))
    }

    // MARK: - Values of configured fields

    @inline(__always)
    mutating func appendRaw(_ from: Int, _ to: Int, to arena: inout [UInt8]) -> UInt64 {
        let start = arena.count
        arena.append(contentsOf: UnsafeBufferPointer(start: p + from, count: to &- from))
        return Self.packRange(start, to &- from)
    }

    /// Appends the unescaped content of the last scanned string to the arena.
    @inline(__always)
    mutating func appendString(to arena: inout [UInt8]) -> UInt64 {
        if !stringEscaped { return appendRaw(stringStart, stringEnd, to: &arena) }
        let start = arena.count
        Self.unescape(p, stringStart, stringEnd) { arena.append($0) }
        return Self.packRange(start, arena.count &- start)
    }

    /// ``appendString(to:)`` for `slot`'s value, reusing the bytes of an equal recent value
    /// of the slot (see ``CachedString``).
    @inline(__always)
    mutating func appendStringCached(slot: Int, to arena: inout [UInt8]) -> UInt64 {
        let count = stringEnd &- stringStart
        guard let strings, !stringEscaped, count <= 16, stringStart &+ 16 <= end else {
            return appendString(to: &arena)
        }
        let raw = UnsafeRawPointer(p + stringStart)
        let mask0 = presentBytes(0, count), mask1 = presentBytes(1, count)
        let first = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let w0 = first & mask0
        let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) & mask1
        let entry = strings + (slot &* CompiledPaths.cachedStrings &+ Self.cachedStringEntry(first))
        if entry.pointee.count == count && entry.pointee.word0 == w0 && entry.pointee.word1 == w1 { return entry.pointee.range }
        let range = appendRaw(stringStart, stringEnd, to: &arena)
        entry.pointee = CachedString(word0: w0, word1: w1, mask0: mask0, mask1: mask1, count: count, range: range)
        return range
    }

    /// The entry of a slot's cached strings (see ``CachedString``) for a value whose bytes
    /// start `first` (read from its first byte on, little-endian): chosen by the first two
    /// bytes, the value's or its closing quote, which every occurrence of it shares.
    @inline(__always)
    static func cachedStringEntry(_ first: UInt64) -> Int {
        Int(truncatingIfNeeded: ((first & 0xFFFF) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 &- CompiledPaths.cachedStringBits))
    }

    /// The arena range of a recent value of `slot` (see ``CachedString``) that the string at
    /// `i` (`p[i]` is its opening quote) equals, or nil; on a match, moves past its closing
    /// quote. The string need not be scanned: equal bytes and the quote prove it valid.
    @inline(__always)
    mutating func matchCachedString(slot: Int) -> UInt64? {
        guard let strings, i &+ 18 <= end else { return nil }
        let raw = UnsafeRawPointer(p + (i &+ 1))
        let w0 = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let entry = strings[slot &* CompiledPaths.cachedStrings &+ Self.cachedStringEntry(w0)]
        guard w0 & entry.mask0 == entry.word0 && w1 & entry.mask1 == entry.word1 && p[i &+ 1 &+ entry.count] == 0x22 else {
            return nil
        }
        i &+= entry.count &+ 2
        return entry.range
    }

    /// The last scanned number as a double (±infinity when it overflows).
    @inline(__always)
    mutating func numberValue() -> Double {
        Self.value(of: number, in: p)
    }

    /// A scanned number as a double (±infinity when it overflows).
    @inline(__always)
    static func value(of scanned: ScannedNumber, in p: UnsafePointer<UInt8>) -> Double {
        DecimalToDouble.convert(
            mantissa: scanned.mantissa, exponent: scanned.exponent, negative: scanned.negative,
            truncated: scanned.truncated,
            text: UnsafeRawBufferPointer(start: p + scanned.start, count: scanned.end &- scanned.start))
    }

    mutating func numberTimestamp() -> EpochMicroseconds? {
        Self.timestamp(of: number, in: p)
    }

    /// A scanned number as an event time (see ``EventTime``), or nil.
    @inline(__always)
    static func timestamp(of scanned: ScannedNumber, in p: UnsafePointer<UInt8>) -> EpochMicroseconds? {
        if scanned.isInteger && scanned.exponent == 0 && !scanned.truncated {
            guard scanned.mantissa <= UInt64(Int64.max) else { return nil }
            let v = Int64(scanned.mantissa)
            return EventTime.fromEpochInteger(scanned.negative ? -v : v)
        }
        return EventTime.fromEpochNumber(value(of: scanned, in: p))
    }

    mutating func stringTimestamp() -> EpochMicroseconds? {
        if !stringEscaped {
            return EventTime.parseRFC3339(UnsafeRawBufferPointer(start: p + stringStart, count: stringEnd &- stringStart))
        }
        // Escapes in a timestamp are legal JSON, if odd: unescape into a small stack buffer.
        let capacity = 64
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var n = 0
            Self.unescape(p, stringStart, stringEnd) { b in
                if n < capacity { buffer[n] = b }
                n &+= 1
            }
            guard n <= capacity else { return nil }
            return EventTime.parseRFC3339(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<n]))
        }
    }

    // MARK: - Strings

    /// Bytes that end a run of plain string content: `"`, `\`, controls and non-ASCII.
    @inline(__always)
    static func specialBytes(_ v: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = v ^ (ones &* 0x22)
        let backslash = v ^ (ones &* 0x5C)
        // Each term flags its lowest matching byte exactly (borrows only flag bytes above a
        // true match), so the lowest flagged byte overall is the first special byte.
        let quotes = (quote &- ones) & ~quote
        let backslashes = (backslash &- ones) & ~backslash
        let controls = (v &- ones &* 0x20) & ~v
        return (quotes | backslashes | controls | v) & highs
    }

    /// Scans and validates a string (escapes, UTF-8); `p[i]` is the opening quote. Sets
    /// ``stringStart``, ``stringEnd``, ``stringEscaped``; leaves `i` after the closing quote.
    mutating func scanString() -> Bool {
        var j = i &+ 1
        let start = j
        var escaped = false
        while true {
            while j &+ 8 <= end {
                let v = UInt64(littleEndian: UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self))
                let special = Self.specialBytes(v)
                if special != 0 {
                    j &+= special.trailingZeroBitCount >> 3
                    break
                }
                j &+= 8
            }
            guard j < end else { return fail(.malformedJSON) }
            let b = p[j]
            if b == 0x22 {
                stringStart = start
                stringEnd = j
                stringEscaped = escaped
                i = j &+ 1
                return true
            } else if b == 0x5C {
                escaped = true
                guard validateEscape(&j) else { return false }
            } else if b < 0x20 {
                return fail(.malformedJSON)
            } else if b >= 0x80 {
                guard validateUTF8(&j) else { return false }
            } else {
                j &+= 1
            }
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `j` (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF) and moves past it.
    @inline(__always)
    mutating func validateUTF8(_ j: inout Int) -> Bool {
        let b0 = p[j]
        @inline(__always) func continuation(_ k: Int) -> Bool { byte(k) & 0xC0 == 0x80 }
        if b0 < 0xC2 { return fail(.invalidUTF8) }
        if b0 < 0xE0 {
            guard continuation(j &+ 1) else { return fail(.invalidUTF8) }
            j &+= 2
            return true
        }
        let b1 = byte(j &+ 1)
        if b0 < 0xF0 {
            let low: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let high: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard b1 >= low, b1 <= high, continuation(j &+ 2) else { return fail(.invalidUTF8) }
            j &+= 3
            return true
        }
        if b0 < 0xF5 {
            let low: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let high: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard b1 >= low, b1 <= high, continuation(j &+ 2), continuation(j &+ 3) else {
                return fail(.invalidUTF8)
            }
            j &+= 4
            return true
        }
        return fail(.invalidUTF8)
    }

    /// The value of a hex digit, or 0xFF.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt32 {
        switch b {
        case 0x30...0x39: UInt32(b &- 0x30)
        case 0x41...0x46: UInt32(b &- 0x41 &+ 10)
        case 0x61...0x66: UInt32(b &- 0x61 &+ 10)
        default: 0xFF
        }
    }

    /// Four hex digits at `k`, or nil.
    @inline(__always)
    func hex4(_ k: Int) -> UInt32? {
        let a = Self.hexValue(byte(k)), b = Self.hexValue(byte(k &+ 1))
        let c = Self.hexValue(byte(k &+ 2)), d = Self.hexValue(byte(k &+ 3))
        if (a | b | c | d) > 0xF { return nil }
        return a << 12 | b << 8 | c << 4 | d
    }

    /// Validates the escape at `j` (`p[j]` is `\`) and moves past it. A lone surrogate
    /// cannot be encoded as UTF-8, so it is `invalidUTF8`.
    mutating func validateEscape(_ j: inout Int) -> Bool {
        switch byte(j &+ 1) {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:  // " \ / b f n r t
            j &+= 2
            return true
        case 0x75:  // u
            guard let unit = hex4(j &+ 2) else { return fail(.malformedJSON) }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard byte(j &+ 6) == 0x5C, byte(j &+ 7) == 0x75 else { return fail(.invalidUTF8) }
                guard let low = hex4(j &+ 8) else { return fail(.malformedJSON) }
                guard low >= 0xDC00 && low <= 0xDFFF else { return fail(.invalidUTF8) }
                j &+= 12
                return true
            }
            if unit >= 0xDC00 && unit <= 0xDFFF { return fail(.invalidUTF8) }
            j &+= 6
            return true
        default:
            return fail(.malformedJSON)
        }
    }

    /// The unescaped bytes of a validated string's content `p[from..<to]`, in order.
    ///
    /// Static, so that the closure does not capture (and copy) the scanner.
    static func unescape(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ sink: (UInt8) -> Void) {
        var j = from
        while j < to {
            let b = p[j]
            if b != 0x5C {
                sink(b)
                j &+= 1
                continue
            }
            // The string was validated: every escape is complete and inside `from..<to`.
            let scalar: UInt32
            switch p[j &+ 1] {
            case 0x62: (scalar, j) = (0x08, j &+ 2)
            case 0x66: (scalar, j) = (0x0C, j &+ 2)
            case 0x6E: (scalar, j) = (0x0A, j &+ 2)
            case 0x72: (scalar, j) = (0x0D, j &+ 2)
            case 0x74: (scalar, j) = (0x09, j &+ 2)
            case 0x75:
                let unit = hexUnit(p + (j &+ 2))
                if unit >= 0xD800 && unit <= 0xDBFF {
                    let low = hexUnit(p + (j &+ 8))
                    (scalar, j) = (0x10000 &+ ((unit &- 0xD800) << 10) &+ (low &- 0xDC00), j &+ 12)
                } else {
                    (scalar, j) = (unit, j &+ 6)
                }
            default:  // " \ /
                (scalar, j) = (UInt32(p[j &+ 1]), j &+ 2)
            }
            encodeUTF8(scalar, sink)
        }
    }

    /// Four validated hex digits.
    @inline(__always)
    static func hexUnit(_ q: UnsafePointer<UInt8>) -> UInt32 {
        hexValue(q[0]) << 12 | hexValue(q[1]) << 8 | hexValue(q[2]) << 4 | hexValue(q[3])
    }

    @inline(__always)
    static func encodeUTF8(_ scalar: UInt32, _ sink: (UInt8) -> Void) {
        if scalar < 0x80 {
            sink(UInt8(truncatingIfNeeded: scalar))
        } else if scalar < 0x800 {
            sink(UInt8(truncatingIfNeeded: 0xC0 | scalar >> 6))
            sink(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            sink(UInt8(truncatingIfNeeded: 0xE0 | scalar >> 12))
            sink(UInt8(truncatingIfNeeded: 0x80 | (scalar >> 6) & 0x3F))
            sink(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        } else {
            sink(UInt8(truncatingIfNeeded: 0xF0 | scalar >> 18))
            sink(UInt8(truncatingIfNeeded: 0x80 | (scalar >> 12) & 0x3F))
            sink(UInt8(truncatingIfNeeded: 0x80 | (scalar >> 6) & 0x3F))
            sink(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        }
    }

    /// Whether the escaped string `p[from..<to]` unescapes to `key`.
    @inline(never)
    static func escapedStringEquals(
        _ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int, key: UnsafeMutableBufferPointer<UInt8>.SubSequence
    ) -> Bool {
        var k = key.startIndex
        var equal = true
        unescape(p, from, to) { b in
            if k < key.endIndex && key[k] == b { k &+= 1 } else { equal = false }
        }
        return equal && k == key.endIndex
    }

    // MARK: - Numbers and literals

    /// Scans a number per the JSON grammar into ``number``; `p[i]` is `-` or a digit.
    ///
    /// One pass validates the text and accumulates the mantissa: whole runs of eight digits
    /// are taken with one load and three multiplies, the rest a byte at a time.
    mutating func scanNumber() -> Bool {
        var scanned = ScannedNumber()
        let next = Self.scanNumber(p, end, from: i, into: &scanned)
        guard next >= 0 else { return fail(.malformedJSON) }
        number = scanned
        i = next
        return true
    }

    /// ``scanNumber()`` on plain values: static, so that the pointer, the end and the
    /// scanned fields stay in registers (an instance method made the optimizer copy the
    /// scanner), and inlined into the numeric-leaf path.
    ///
    /// - Returns: The index just past the number, or -1 when it is malformed.
    @inline(__always)
    static func scanNumber(
        _ p: UnsafePointer<UInt8>, _ end: Int, from start: Int, into scanned: inout ScannedNumber
    ) -> Int {
        @inline(__always) func byte(_ j: Int) -> UInt8 { j < end ? p[j] : 0 }
        var j = start
        let negative = p[j] == 0x2D
        if negative { j &+= 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var truncated = false
        var isInteger = true
        var d = byte(j) &- 0x30
        if d == 0 {
            j &+= 1
        } else if d <= 9 {
            // The first digit is nonzero, so every digit is significant.
            mantissa = UInt64(d)
            significant = 1
            j &+= 1
            let ended = digitRun(p, end, &j, &mantissa, &significant)
            d = ended ? 0xFF : byte(j) &- 0x30
            while d <= 9 {
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    significant &+= 1
                } else {
                    exponent &+= 1
                    if d != 0 { truncated = true }
                }
                j &+= 1
                d = byte(j) &- 0x30
            }
        } else {
            return -1
        }
        var c = byte(j)
        if c == 0x2E {  // .
            isInteger = false
            j &+= 1
            d = byte(j) &- 0x30
            guard d <= 9 else { return -1 }
            if mantissa == 0 {
                // Leading zeros of the fraction are not significant.
                while d == 0 {
                    exponent &-= 1
                    j &+= 1
                    d = byte(j) &- 0x30
                }
            }
            // Now at a nonzero digit (or past the fraction), so every digit is significant.
            let runStart = j
            let ended = digitRun(p, end, &j, &mantissa, &significant)
            exponent &-= j &- runStart
            d = ended ? 0xFF : byte(j) &- 0x30
            while d <= 9 {
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    exponent &-= 1
                    significant &+= 1
                } else if d != 0 {
                    truncated = true
                }
                j &+= 1
                d = byte(j) &- 0x30
            }
            c = byte(j)
        }
        if c | 0x20 == 0x65 {  // e E
            isInteger = false
            j &+= 1
            var negativeExponent = false
            let sign = byte(j)
            if sign == 0x2D {
                negativeExponent = true
                j &+= 1
            } else if sign == 0x2B {
                j &+= 1
            }
            d = byte(j) &- 0x30
            guard d <= 9 else { return -1 }
            var written = 0
            repeat {
                // Beyond 10^7 the value is 0 or infinite anyway; stop growing.
                if written < 10_000_000 { written = written &* 10 &+ Int(d) }
                j &+= 1
                d = byte(j) &- 0x30
            } while d <= 9
            exponent = negativeExponent ? exponent &- written : exponent &+ written
        }
        scanned = ScannedNumber(
            start: start, end: j, mantissa: mantissa, exponent: exponent, negative: negative,
            truncated: truncated, isInteger: isInteger)
        return j
    }

    /// Accumulates the significant digits at `j` into `mantissa`: whole runs of eight while
    /// the total stays within 19 digits and 8 bytes can be read, then, when the run ended
    /// inside those 8 bytes, its last few digits without bounds or overflow checks. The
    /// caller's checked byte loop takes whatever is left (digits near the end of the input
    /// or past the 19th).
    ///
    /// - Returns: Whether the run ended here: `p[j]` is then known not to be a digit.
    @inline(__always)
    @discardableResult
    static func digitRun(
        _ p: UnsafePointer<UInt8>, _ end: Int, _ j: inout Int, _ mantissa: inout UInt64, _ significant: inout Int
    ) -> Bool {
        while significant <= 11 && j &+ 8 <= end {
            let v = UInt64(littleEndian: UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self))
            if Self.nonDigitBytes(v) != 0 {
                // A non-digit lies within p[j..<j+8], and up to 7 more digits still fit.
                // (Short runs are the common case: a byte loop beats shifting them into place.)
                let runStart = j
                var d = p[j] &- 0x30
                while d <= 9 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    j &+= 1
                    d = p[j] &- 0x30
                }
                significant &+= j &- runStart
                return true
            }
            mantissa = mantissa &* 100_000_000 &+ Self.eightDigitsValue(v)
            significant &+= 8
            j &+= 8
        }
        return false
    }

    /// Scans the usual number, `-?digits(.digits)?` with 1–15 integer digits (no leading zero
    /// but a lone one), up to 19 fraction digits and at most 19 digits in all once a leading
    /// `0.` is left aside, with a few word operations instead of a loop over its digits
    /// (fewer instructions for long numbers, and no branch on each digit): at most 40 bytes
    /// from `start` are read, 8 at a time, and the digits of each word up to the first
    /// non-digit are converted at once (``digitsValue(_:count:)``).
    ///
    /// Scans exactly what ``scanNumber(_:_:from:into:)`` scans for such a number: its value is
    /// `mantissa × 10^-fractionDigits` (no digit dropped).
    ///
    /// - Returns: The index just past the number, or -1 for anything else (an exponent, more
    ///   digits, fewer than 40 bytes left, or no number at all): the caller then scans it in
    ///   full, which also decides what is malformed.
    @inline(__always)
    static func scanPlainDecimal(
        _ p: UnsafePointer<UInt8>, _ end: Int, from start: Int, mantissa: inout UInt64, fractionDigits: inout Int
    ) -> Int {
        let q = p[start] == 0x2D ? start &+ 1 : start
        guard q &+ 40 <= end else { return -1 }
        @inline(__always) func word(_ k: Int) -> UInt64 {
            UInt64(littleEndian: UnsafeRawPointer(p + k).loadUnaligned(as: UInt64.self))
        }
        let w = word(q)
        var integerDigits = nonDigitBytes(w).trailingZeroBitCount >> 3
        // No digit, or a leading zero before more digits.
        guard integerDigits > 0 && (integerDigits == 1 || w & 0xFF != 0x30) else { return -1 }
        var integer: UInt64
        if integerDigits == 1 {
            // The usual `0.` or one digit, without the shift and multiplies.
            integer = w & 0xF
        } else if integerDigits < 8 {
            integer = digitsValue(w, count: integerDigits)
        } else {
            // 8 to 15 integer digits (epoch milliseconds have 13).
            let w1 = word(q &+ 8)
            let more = nonDigitBytes(w1).trailingZeroBitCount >> 3
            guard more < 8 else { return -1 }
            integer = eightDigitsValue(w)
            if more > 0 { integer = integer &* powerOfTen(more) &+ digitsValue(w1, count: more) }
            integerDigits = 8 &+ more
        }
        let after = p[q &+ integerDigits]
        if after != 0x2E {  // .
            guard after | 0x20 != 0x65 else { return -1 }  // e E
            mantissa = integer
            fractionDigits = 0
            return q &+ integerDigits
        }
        // The fraction: one, two or three words, the last one partly.
        let f = q &+ integerDigits &+ 1
        var fraction: UInt64
        var digits: Int
        let u0 = word(f)
        let run0 = nonDigitBytes(u0).trailingZeroBitCount >> 3
        if run0 < 8 {
            guard run0 > 0 else { return -1 }
            fraction = digitsValue(u0, count: run0)
            digits = run0
        } else {
            let u1 = word(f &+ 8)
            let run1 = nonDigitBytes(u1).trailingZeroBitCount >> 3
            fraction = eightDigitsValue(u0)
            if run1 < 8 {
                if run1 > 0 { fraction = fraction &* powerOfTen(run1) &+ digitsValue(u1, count: run1) }
                digits = 8 &+ run1
            } else {
                let u2 = word(f &+ 16)
                let run2 = nonDigitBytes(u2).trailingZeroBitCount >> 3
                // 19 fraction digits at most.
                guard run2 <= 3 else { return -1 }
                fraction = fraction &* 100_000_000 &+ eightDigitsValue(u1)
                if run2 > 0 { fraction = fraction &* powerOfTen(run2) &+ digitsValue(u2, count: run2) }
                digits = 16 &+ run2
            }
        }
        let next = f &+ digits
        // An exponent, or more than 19 digits (the integer's count unless it is 0).
        guard p[next] | 0x20 != 0x65, integer == 0 || digits &+ integerDigits <= 19 else { return -1 }
        mantissa = integer &* powerOfTen(digits) &+ fraction
        fractionDigits = digits
        return next
    }

    /// 10^n for n in 0...19.
    @inline(__always)
    static func powerOfTen(_ n: Int) -> UInt64 {
        switch n {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        case 9: 1_000_000_000
        case 10: 10_000_000_000
        case 11: 100_000_000_000
        case 12: 1_000_000_000_000
        case 13: 10_000_000_000_000
        case 14: 100_000_000_000_000
        case 15: 1_000_000_000_000_000
        case 16: 10_000_000_000_000_000
        case 17: 100_000_000_000_000_000
        case 18: 1_000_000_000_000_000_000
        default: 10_000_000_000_000_000_000
        }
    }

    /// The value of the first `count` (1...7) bytes of `v`, ASCII digits (first digit in the
    /// lowest byte): they are shifted to the top, below zeros, and converted as eight digits.
    /// The bytes above them may be anything: subtracting `0` from each byte borrows only
    /// upward from a non-digit, so the digit bytes come out exact.
    @inline(__always)
    static func digitsValue(_ v: UInt64, count: Int) -> UInt64 {
        eightDigitValues((v &- 0x3030_3030_3030_3030) &<< UInt64(64 &- 8 &* count))
    }

    /// The high bit of every byte of `v` that is not an ASCII digit (fast_float's test).
    ///
    /// `b + 0x46` has its high bit set for 0x3A...0xB9 and `b - 0x30` for bytes below 0x30 or
    /// above 0xAF. A carry or borrow out of a byte only happens for a non-digit byte, so the
    /// lowest flagged byte is exactly the first non-digit.
    @inline(__always)
    static func nonDigitBytes(_ v: UInt64) -> UInt64 {
        ((v &+ 0x4646_4646_4646_4646) | (v &- 0x3030_3030_3030_3030)) & 0x8080_8080_8080_8080
    }

    /// The value of eight ASCII digits (first digit in the lowest byte), by three multiplies.
    @inline(__always)
    static func eightDigitsValue(_ v0: UInt64) -> UInt64 {
        eightDigitValues(v0 &- 0x3030_3030_3030_3030)
    }

    /// The number whose eight decimal digits (0...9, first digit in the lowest byte) are the
    /// bytes of `digits`, by three multiplies.
    @inline(__always)
    static func eightDigitValues(_ digits: UInt64) -> UInt64 {
        let mask: UInt64 = 0x0000_00FF_0000_00FF
        let mul1: UInt64 = 0x000F_4240_0000_0064  // 100 + (1000000 << 32)
        let mul2: UInt64 = 0x0000_2710_0000_0001  // 1 + (10000 << 32)
        var v = digits
        v = (v &* 10) &+ (v >> 8)
        return (((v & mask) &* mul1) &+ (((v >> 16) & mask) &* mul2)) >> 32
    }

    /// Validates and skips a number (`p[i]` is `-` or a digit) without computing its value:
    /// the same grammar as ``scanNumber()``, digits taken eight at a time.
    mutating func skipNumber() -> Bool {
        var j = i
        if p[j] == 0x2D { j &+= 1 }
        let first = byte(j)
        if first == 0x30 {
            j &+= 1
        } else if first &- 0x31 <= 8 {
            j = Self.skipDigits(p, end, from: j &+ 1)
        } else {
            return fail(.malformedJSON)
        }
        if byte(j) == 0x2E {  // .
            j &+= 1
            guard byte(j) &- 0x30 <= 9 else { return fail(.malformedJSON) }
            j = Self.skipDigits(p, end, from: j &+ 1)
        }
        if byte(j) | 0x20 == 0x65 {  // e E
            j &+= 1
            let sign = byte(j)
            if sign == 0x2D || sign == 0x2B { j &+= 1 }
            guard byte(j) &- 0x30 <= 9 else { return fail(.malformedJSON) }
            j = Self.skipDigits(p, end, from: j &+ 1)
        }
        i = j
        return true
    }

    /// The index of the first byte at or after `from` that is not an ASCII digit (or `end`).
    @inline(__always)
    static func skipDigits(_ p: UnsafePointer<UInt8>, _ end: Int, from: Int) -> Int {
        var j = from
        while j &+ 8 <= end {
            let nonDigits = nonDigitBytes(UInt64(littleEndian: UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self)))
            if nonDigits != 0 { return j &+ nonDigits.trailingZeroBitCount &>> 3 }
            j &+= 8
        }
        while j < end && p[j] &- 0x30 <= 9 { j &+= 1 }
        return j
    }

    /// Skips `true`, `false` or `null`; `p[i]` is its first letter.
    @inline(__always)
    mutating func skipLiteral() -> Bool {
        guard i &+ 4 <= end else { return fail(.malformedJSON) }
        let word = UInt32(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt32.self))
        switch word {
        case 0x6575_7274, 0x6C6C_756E:  // "true", "null"
            i &+= 4
            return true
        case 0x736C_6166:  // "fals"
            guard byte(i &+ 4) == 0x65 else { return fail(.malformedJSON) }
            i &+= 5
            return true
        default:
            return fail(.malformedJSON)
        }
    }

    // MARK: - Skipping

    /// Validates and skips any value; containers open at `depth + 1`.
    mutating func skipValue(depth: Int) -> Bool {
        switch byte(i) {
        case 0x22: return scanString()
        case 0x7B, 0x5B: return skipContainer(depth: depth &+ 1)
        case 0x74, 0x66, 0x6E: return skipLiteral()
        case 0x2D, 0x30...0x39: return skipNumber()
        default: return fail(.malformedJSON)
        }
    }

    /// Skips a scalar (not a container) value.
    @inline(__always)
    mutating func skipScalar() -> Bool {
        switch byte(i) {
        case 0x22: return scanString()
        case 0x74, 0x66, 0x6E: return skipLiteral()
        case 0x2D, 0x30...0x39: return skipNumber()
        default: return fail(.malformedJSON)
        }
    }

    /// Skips `"key"` `:` and the whitespace around it, inside an object being skipped.
    @inline(__always)
    mutating func skipKeyAndColon() -> Bool {
        guard byte(i) == 0x22, scanString() else { return fail(.malformedJSON) }
        skipWhitespace()
        guard byte(i) == 0x3A else { return fail(.malformedJSON) }
        i &+= 1
        skipWhitespace()
        return true
    }

    /// Validates and skips an object or array (`p[i]` is `{` or `[`) that opens at `depth`.
    ///
    /// Iterative, with one bit per open level in ``containerBits``, so adversarial nesting
    /// up to any configured depth uses no stack.
    mutating func skipContainer(depth outerDepth: Int) -> Bool {
        var depth = outerDepth
        var opening = true
        while true {
            if opening {
                if depth > maxDepth { return fail(.nestingTooDeep) }
                let isObject = p[i] == 0x7B
                let word = depth >> 6, bit = UInt64(1) << UInt64(depth & 63)
                if isObject { containerBits[word] |= bit } else { containerBits[word] &= ~bit }
                i &+= 1
                skipWhitespace()
                if byte(i) == (isObject ? 0x7D : 0x5D) {
                    i &+= 1
                    depth &-= 1
                    if depth < outerDepth { return true }
                    opening = false
                    continue
                }
                if isObject { guard skipKeyAndColon() else { return false } }
            } else {
                skipWhitespace()
                let c = byte(i)
                let isObject = containerBits[depth >> 6] & (UInt64(1) << UInt64(depth & 63)) != 0
                if c == (isObject ? 0x7D : 0x5D) {
                    i &+= 1
                    depth &-= 1
                    if depth < outerDepth { return true }
                    continue
                }
                guard c == 0x2C else { return fail(.malformedJSON) }
                i &+= 1
                skipWhitespace()
                if isObject { guard skipKeyAndColon() else { return false } }
            }
            // A value inside the container at `depth`.
            let v = byte(i)
            if v == 0x7B || v == 0x5B {
                depth &+= 1
                opening = true
            } else {
                guard skipScalar() else { return false }
                opening = false
            }
        }
    }
}
