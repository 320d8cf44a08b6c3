import Testing

@testable import DriftStats

@Suite struct ByteCodingTests {
    /// The bit-at-a-time definition of CRC-32C (Castagnoli, reflected).
    func reference(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        }
        return ~c
    }

    @Test func crc32cMatchesTheStandardCheckValueAndTheBitwiseDefinition() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        var state: UInt64 = 42
        for length in [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099] {
            let bytes = (0..<length).map { _ -> UInt8 in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 56)
            }
            #expect(CRC32C.checksum(bytes) == reference(bytes), "length \(length)")
            // Continuing over a split gives the checksum of the whole.
            let cut = length / 3
            let first = CRC32C.checksum(Array(bytes[..<cut]))
            let whole = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[cut...]), continuing: first) }
            #expect(whole == reference(bytes))
        }
    }

    @Test func arraysOfWordsRoundTripAndTruncationIsCaught() throws {
        var w = ByteWriter()
        let doubles: [Double] = [0, -0.0, 1.5, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, 1e308]
        let words: [UInt64] = [0, 1, .max, 0x0102_0304_0506_0708]
        w.f64s(doubles)
        w.u64s(words)
        var r = ByteReader(w.bytes)
        let d = try r.f64s()
        #expect(d.map(\.bitPattern) == doubles.map(\.bitPattern))
        #expect(try r.u64s() == words)
        #expect(r.isAtEnd)
        // Little-endian on the wire, whatever the host.
        #expect(Array(w.bytes[(8 + 64 + 8 + 24)..<(8 + 64 + 8 + 32)]) == [8, 7, 6, 5, 4, 3, 2, 1])
        var short = ByteReader(Array(w.bytes.dropLast(3)))
        _ = try short.f64s()
        #expect(throws: ByteReaderError.self) { _ = try short.u64s() }
    }

    @Test(arguments: [0, 5, 300, 20_000])
    func windowCountsRoundTripSparseOrDense(values: Int) throws {
        let fine = BinEdges((1..<200).map { Double($0) / 2 })
        let psi = BinEdges([10, 20.5, 30, 77])  // not a subset: PSI counts of their own
        var summary = NumericSummary(psiEdges: psi, fineEdges: fine)
        var state: UInt64 = 9
        summary.add((0..<values).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 40) / Double(1 << 24) * 120 - 10
        } + [.nan, .infinity])
        var w = ByteWriter()
        summary.encodeCounts(to: &w)
        var restored = NumericSummary(psiEdges: psi, fineEdges: fine)
        var r = ByteReader(w.bytes)
        try restored.decodeCounts(from: &r)
        #expect(r.isAtEnd)
        // (Summaries holding NaN never compare equal: compare what they hold, and their bytes.)
        #expect(restored.fine.counts == summary.fine.counts)
        #expect(restored.fine.offsetSums == summary.fine.offsetSums)
        #expect(restored.count == summary.count && restored.missing == summary.missing)
        var again = ByteWriter()
        restored.encodeCounts(to: &again)
        #expect(again.bytes == w.bytes)
        // Counts for other edges are refused.
        var other = NumericSummary(psiEdges: psi, fineEdges: BinEdges([1, 2, 3]))
        var reread = ByteReader(w.bytes)
        #expect(throws: ByteReaderError.self) { try other.decodeCounts(from: &reread) }
    }
}
