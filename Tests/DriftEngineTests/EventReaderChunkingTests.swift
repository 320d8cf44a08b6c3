import DriftCore
@testable import DriftEngine
import Foundation
import Testing

/// The reader hands whole runs of lines to the decoder; whatever the read sizes (so
/// wherever lines are cut between reads), it must give what decoding the lines one by
/// one gives: same events, same rejections with the same positions and bytes, same counts.
@Suite struct EventReaderChunkingTests {
    static let schema = EventSchema(timestamp: "ts", numeric: ["x"], categorical: ["c"])
    /// Small enough that overlong lines are cheap to write.
    static let limits = DecoderLimits(maxEventBytes: 48)

    struct Rejected: Equatable, CustomStringConvertible {
        var position: Int64
        var reason: RejectReason
        var raw: [UInt8]
        var description: String { "\(position) \(reason) \(String(decoding: raw, as: UTF8.self).debugDescription)" }
    }

    struct Outcome: Equatable {
        var timestamps: [Int64] = []
        var positions: [Int64] = []
        var x: [UInt64] = []
        var c: [String?] = []
        var rejected: [Rejected] = []
        var accepted: Int64 = 0
        var rejectedCount: Int64 = 0
        var linesRead: Int64 = 0
        var headerLines: Int64 = 0
        var format: EventReader.Format?
        /// Chunk tails decoded on the reading thread and the longest in bytes (not compared).
        var tails = 0
        var longestTail = 0

        init() {}

        init(_ batch: EventBatch) {
            timestamps = batch.timestamps
            positions = batch.positions
            x = batch.numeric[0].map(\.bitPattern)
            c = batch.categorical[0].map { batch.string($0) }
        }
    }

    static let events = [
        #"{"ts":1700000000001,"x":1.5,"c":"a"}"#,
        #"{"ts":1700000000002,"x":-2e3,"c":"b"}"#,
        #"{"ts":1700000000003,"c":"\u00e9"}"#,
        #"{"ts":1700000000004,"x":"no"}"#,
        #"{"ts":1700000000005,"x":3"#,
        #"["not", "an", "object"]"#,
        #"{"x":4}"#,
    ]

    /// NDJSON with every kind of line: a BOM, blank lines before and after the first event,
    /// CRLF, a lone CR, bad events, overlong lines (one much longer than any read, one of
    /// blanks, one that fits only without its CR) and no final newline.
    static let ndjson: [UInt8] = {
        var s = "\u{FEFF}\n  \r\n \t \n"
        s += events[0] + "\r\n" + events[1] + "\n\n" + " \r \n"
        s += String(repeating: "y", count: 100) + "\n"
        s += events[2] + "\n" + events[3] + "\r\n" + events[4] + "\n"
        s += "{\"ts\":1,\"pad\":\"" + String(repeating: "z", count: 5000) + "\"}\r\n"
        s += events[5] + "\n" + String(repeating: " ", count: 60) + "\n" + events[6] + "\n"
        s += "{\"ts\":1700000000006,\"x\":6,\"c\":\"abcdefghijklmno\"}\r\n"  // 48 bytes + CR: fits
        s += "{\"ts\":1700000000007,\"x\":7,\"c\":\"abcdefghijklmnop\"}\r\n"  // 49 bytes: too long
        s += "\r\n"
        for k in 0..<150 { s += #"{"ts":\#(1_700_000_001_000 + k),"x":\#(k),"c":"k\#(k % 4)"}"# + (k % 3 == 0 ? "\r\n" : "\n") }
        s += events[0]
        return Array(s.utf8)
    }()

    /// The check that lets a chunk's lines go out as one run: true only when no line is over
    /// the limit (a line of exactly the limit plus CR LF may be left to the line-by-line cut).
    @Test(arguments: [
        ("abc\nde\n", true), ("abcde\n", true), ("abcdef\n", false), ("ab\ncdefgh", false), ("ab\ncdefg", true),
        ("", true), ("\n\n\n", true), ("abcde\r\n", false), ("abcd\r\nabcde\nabc\n", true),
        ("abc\nabcdefghijk\nab\n", false), ("abcde\nabcde\nabcde\nabcdef\n", false),
    ])
    func linesAreWithinTheLimit(text: String, expected: Bool) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { LineReader.linesAreWithin(5, $0) } == expected, "\(text.debugDescription)")
    }

    static let csv: [UInt8] = Array(
        ("\u{FEFF}\n \r\nc,ts,x\r\n" + "a,1700000000001,1.5\n" + "\n" + "\"b,1\",1700000000002,2\r\n"
            + "c,1700000000003\n" + String(repeating: "q", count: 70) + "\n" + "d,1700000000004,x\n"
            + " \t\n" + "e,1700000000005,5").utf8)

    static let inputs: [(name: String, bytes: [UInt8])] = [
        ("ndjson", ndjson),
        ("ndjson, final LF", ndjson + Array("\n".utf8)),
        ("ndjson, final CR", ndjson + Array("\r".utf8)),
        ("ndjson, overlong last line", ndjson + Array(("\n" + String(repeating: "w", count: 300)).utf8)),
        ("csv", csv),
        ("blank lines only", Array("\n \r\n\t\n\r".utf8)),
        ("empty", []),
        ("BOM only", [0xEF, 0xBB, 0xBF]),
    ]

    /// Reads `bytes` (zstd-compressed when `compressed`) with the given read sizes.
    ///
    /// `tailMinimumBytes` 1 has the reading thread decode the tail of every chunk it can.
    func read(
        _ bytes: [UInt8], compressed: Bool, chunkBytes: Int, compressedReadBytes: Int, tailMinimumBytes: Int = 1,
        limits: DecoderLimits = Self.limits, file given: [UInt8]? = nil, segmentsAllowed: Bool = false,
        endsDecodingIntoChunks: Bool = true
    ) throws -> Outcome {
        let scratch = try ScratchDirectory()
        let path = scratch.file("input")
        var file = given ?? bytes
        if compressed && given == nil {
            let compressor = ZstdCompressor()
            file = []
            try compressor.compress(bytes) { file += $0 }
            try compressor.finish { file += $0 }
        }
        try Data(file).write(to: URL(fileURLWithPath: path))
        let source = try ByteSource(
            path: path, chunkBytes: chunkBytes, compressedReadBytes: compressedReadBytes, segmentsAllowed: segmentsAllowed)
        let reader = EventReader(source: source, schema: Self.schema, limits: limits, tailMinimumBytes: tailMinimumBytes)
        var batch = EventBatch(numericCount: 1, categoricalCount: 1)
        var rejected: [Rejected] = []
        while try reader.next(into: &batch, reject: { rejected.append(Rejected(position: $0.position, reason: $0.reason, raw: Array($0.raw))) }) {}
        #expect(source.isCompressed == compressed)
        if segmentsAllowed { #expect(source.decodesIntoChunks == endsDecodingIntoChunks) }
        var outcome = Outcome(batch)
        outcome.rejected = rejected
        outcome.accepted = reader.accepted
        outcome.rejectedCount = reader.rejected
        outcome.linesRead = reader.linesRead
        outcome.headerLines = reader.headerLines
        outcome.format = reader.format
        outcome.tails = reader.decodedTails
        outcome.longestTail = reader.longestDecodedTail
        return outcome
    }

    /// The reference: the lines cut by hand and decoded one at a time, as the reader did
    /// before it handed runs of lines to the decoder.
    func decodeOneByOne(_ bytes: [UInt8], limits: DecoderLimits = Self.limits) throws -> Outcome {
        let scratch = try ScratchDirectory()
        let path = scratch.file("unused")
        try Data().write(to: URL(fileURLWithPath: path))
        let reader = try EventReader(path: path, schema: Self.schema, limits: limits)
        var batch = EventBatch(numericCount: 1, categoricalCount: 1)
        var rejected: [Rejected] = []
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if bytes.last == 0x0A || bytes.isEmpty { lines.removeLast() }
        for (i, var line) in lines.enumerated() {
            let number = Int64(i + 1)
            if line.last == 0x0D { line.removeLast() }
            if line.count > limits.maxEventBytes {
                rejected.append(Rejected(position: number, reason: .lineTooLong, raw: Array(line)))
                continue
            }
            try Array(line).withUnsafeBytes { raw in
                try reader.decodeLine(raw, number: number, into: &batch) {
                    rejected.append(Rejected(position: $0.position, reason: $0.reason, raw: Array($0.raw)))
                }
            }
        }
        var outcome = Outcome(batch)
        outcome.rejected = rejected
        outcome.accepted = reader.accepted
        outcome.rejectedCount = reader.rejected + Int64(rejected.filter { $0.reason == .lineTooLong }.count)
        outcome.linesRead = Int64(lines.count)
        outcome.headerLines = reader.headerLines
        outcome.format = reader.format
        return outcome
    }

    @Test(arguments: [
        (1, 1), (2, 3), (3, 1), (5, 7), (17, 5), (64, 13), (1000, 64), (1 << 20, 1 << 17),
    ])
    func anyReadSizesGiveTheLineByLineResult(chunkBytes: Int, compressedReadBytes: Int) throws {
        for input in Self.inputs {
            let expected = try decodeOneByOne(input.bytes)
            for compressed in [false, true] {
                for tailMinimumBytes in [1, Int.max] {
                let got = try read(
                    input.bytes, compressed: compressed, chunkBytes: chunkBytes, compressedReadBytes: compressedReadBytes,
                    tailMinimumBytes: tailMinimumBytes)
                let what = "\(input.name), compressed \(compressed), reads of \(chunkBytes)/\(compressedReadBytes), tails from \(tailMinimumBytes)"
                #expect(got.timestamps == expected.timestamps, "\(what)")
                #expect(got.positions == expected.positions, "\(what)")
                #expect(got.x == expected.x, "\(what)")
                #expect(got.c == expected.c, "\(what)")
                #expect(got.format == expected.format, "\(what)")
                #expect(got.headerLines == expected.headerLines, "\(what)")
                #expect(got.accepted == expected.accepted && got.rejectedCount == expected.rejectedCount, "\(what)")
                #expect(got.linesRead == expected.linesRead, "\(what)")
                #expect(got.accepted + got.rejectedCount + got.headerLines == got.linesRead, "\(what)")
                // Overlong lines are reported with a prefix of at most 1 KiB (how much of it
                // depends on where the reads cut the line); every other rejection exactly.
                #expect(got.rejected.count == expected.rejected.count, "\(what)")
                for (g, e) in zip(got.rejected, expected.rejected) {
                    #expect(g.position == e.position && g.reason == e.reason, "\(what): \(g) vs \(e)")
                    if e.reason == .lineTooLong {
                        #expect(e.raw.starts(with: g.raw) && g.raw.count <= 1024 && g.raw.count >= 1, "\(what): \(g)")
                    } else {
                        #expect(g.raw == e.raw, "\(what): \(g) vs \(e)")
                    }
                }
                }
            }
        }
    }

    /// The inputs above hold every kind of line; make sure they do (a test of the test).
    @Test func theInputsCoverTheEdgeCases() throws {
        let ndjson = try decodeOneByOne(Self.ndjson)
        let reasons = Set(ndjson.rejected.map(\.reason))
        #expect(reasons == [.emptyLine, .lineTooLong, .notANumber, .malformedJSON, .notAnObject, .missingTimestamp])
        #expect(ndjson.accepted == 155 && ndjson.format == .ndjson)
        #expect(ndjson.rejected.first == Rejected(position: 1, reason: .emptyLine, raw: []))  // the BOM is not content
        #expect(ndjson.rejected.filter { $0.reason == .lineTooLong }.map(\.position) == [8, 12, 14, 17])
        let csv = try decodeOneByOne(Self.csv)
        #expect(csv.format == .csv && csv.headerLines == 1 && csv.accepted == 3)
        #expect(Set(csv.rejected.map(\.reason)) == [.emptyLine, .lineTooLong, .wrongFieldCount, .notANumber])
    }

    /// The file is read on another thread: its errors must still come out of `next`, after
    /// the events before them, and a reader dropped halfway must not hang or crash.
    @Test func readErrorsAndAbandonedReaders() throws {
        let scratch = try ScratchDirectory()
        var text: [UInt8] = []
        for k in 0..<20_000 { text += Array(#"{"ts":\#(1_700_000_000_000 + k),"x":1,"c":"a"}"#.utf8) + [0x0A] }
        var compressed: [UInt8] = []
        let compressor = ZstdCompressor()
        try compressor.compress(text) { compressed += $0 }
        try compressor.finish { compressed += $0 }
        let truncated = scratch.file("truncated.ndjson.zst")
        try Data(compressed.dropLast(7)).write(to: URL(fileURLWithPath: truncated))
        let reader = EventReader(
            source: try ByteSource(path: truncated, chunkBytes: 4096, compressedReadBytes: 1024), schema: Self.schema,
            limits: Self.limits)
        var batch = EventBatch(numericCount: 1, categoricalCount: 1)
        #expect {
            while try reader.next(into: &batch, reject: { _ in }) {}
        } throws: { error in
            String(describing: error).contains("truncated.ndjson.zst: zstd stream is truncated or damaged")
        }
        #expect(batch.count > 10_000 && batch.count < 20_000 && reader.accepted == Int64(batch.count))
        // Dropped after one chunk, with the reading thread waiting for a free buffer.
        let whole = scratch.file("whole.ndjson.zst")
        try Data(compressed).write(to: URL(fileURLWithPath: whole))
        for _ in 0..<20 {
            let early = EventReader(
                source: try ByteSource(path: whole, chunkBytes: 512, compressedReadBytes: 64), schema: Self.schema, limits: Self.limits)
            var first = EventBatch(numericCount: 1, categoricalCount: 1)
            #expect(try early.next(into: &first, reject: { _ in }))
            #expect(first.count > 0)
        }
    }

    /// zstd decoded block by block straight into the chunks (``ZstdSegmentDecompressor``):
    /// matches reach back into the previous chunk, frames and a skippable frame follow each
    /// other, and the lines come out as streaming gives them; a stream cut inside a frame
    /// is still reported.
    @Test func zstdDecodedIntoTheChunksThemselves() throws {
        var text: [UInt8] = []
        for k in 0..<90_000 {
            text += Array(#"{"ts":\#(1_700_000_000_000 + k),"x":\#(Double(k % 977) / 8),"c":"v\#(k % 5)"}"#.utf8) + [0x0A]
        }
        func frame(_ part: ArraySlice<UInt8>) throws -> [UInt8] {
            var out: [UInt8] = []
            let compressor = ZstdCompressor()
            try compressor.compress(Array(part)) { out += $0 }
            try compressor.finish { out += $0 }
            return out
        }
        let cut = 70_000 * 50
        // A skippable frame: magic 0x184D2A50, little-endian size, user data.
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5]
        let file = try frame(text[..<cut]) + skippable + frame(text[cut...])
        let expected = try decodeOneByOne(text)
        #expect(expected.accepted == 90_000)
        var got = try read(
            text, compressed: true, chunkBytes: 1 << 20, compressedReadBytes: 1 << 17, tailMinimumBytes: 1 << 16,
            file: file, segmentsAllowed: true)
        got.tails = 0
        got.longestTail = 0
        #expect(got == expected)
        // Frames of 178 KiB with their sizes recorded (window = content): each is a full
        // block and a 50 KiB last block, and the fifth starts 134 KiB before the end of
        // a 1 MiB chunk, so its last block must wait for the next chunk.
        var small: [UInt8] = []
        var at = 0
        while at < text.count {
            let piece = Array(text[at..<min(at + 178 << 10, text.count)])
            small += try Zstd.compress(piece)
            at += piece.count
        }
        var fromSmall = try read(
            text, compressed: true, chunkBytes: 1 << 20, compressedReadBytes: 1 << 17, tailMinimumBytes: 1 << 16,
            file: small, segmentsAllowed: true)
        fromSmall.tails = 0
        fromSmall.longestTail = 0
        #expect(fromSmall == expected)
        // A first frame with a small window (178 KiB, its recorded size) sets 1 MiB chunks;
        // the next frame's 2 MiB window does not fit them, so decoding switches to
        // streaming at that frame.
        let head = 178 << 10
        var mixed = try read(
            text, compressed: true, chunkBytes: 1 << 20, compressedReadBytes: 1 << 17, tailMinimumBytes: 1 << 16,
            file: try Zstd.compress(Array(text[..<head])) + frame(text[head...]), segmentsAllowed: true,
            endsDecodingIntoChunks: false)
        mixed.tails = 0
        mixed.longestTail = 0
        #expect(mixed == expected)
        #expect {
            _ = try read(
                text, compressed: true, chunkBytes: 1 << 20, compressedReadBytes: 1 << 17, file: Array(file.dropLast(7)),
                segmentsAllowed: true)
        } throws: { error in
            String(describing: error).contains("zstd stream is truncated or damaged")
        }
    }

    /// A tail may be longer than a line may be, but holds no overlong line: one in the
    /// last quarter of a chunk is left to the consumer, which reports it with a prefix of
    /// at most 1 KiB, as everywhere else.
    @Test func anOverlongLineAtTheEndOfAChunk() throws {
        let limits = DecoderLimits(maxEventBytes: 1_024)
        var text: [UInt8] = []
        var k = 0
        func event() {
            text += Array(#"{"ts":\#(1_700_000_000_000 + k),"x":\#(k),"c":"a"}"#.utf8) + [0x0A]
            k += 1
        }
        // Chunks of 8 KiB. The reading thread decodes the last 20–32 % of the seventh (its
        // share starts at 26 % and moves a point per chunk), if it has tails wanted by then.
        while text.count < 6 * 8_192 + 6_700 { event() }
        text += Array(repeating: UInt8(ascii: "v"), count: 1_400) + [0x0A]
        while text.count < 100_000 { event() }
        let expected = try decodeOneByOne(text, limits: limits)
        #expect(expected.rejected.map(\.reason) == [.lineTooLong])
        for compressed in [false, true] {
            var got = try read(
                text, compressed: compressed, chunkBytes: 8_192, compressedReadBytes: 1_000, tailMinimumBytes: 1,
                limits: limits)
            #expect(got.tails >= 5)
            // Tails are not capped at a line's length: a quarter of 8 KiB is twice the limit.
            #expect(got.longestTail > 1_024, "longest tail \(got.longestTail) bytes")
            #expect(got.rejected.count == 1)
            if let r = got.rejected.first {
                #expect(r.reason == .lineTooLong && r.raw.count <= 1_024 && expected.rejected[0].raw.starts(with: r.raw))
                got.rejected = expected.rejected
            }
            got.tails = 0
            got.longestTail = 0
            #expect(got == expected, "compressed \(compressed)")
        }
    }

    /// After each read, the text of every line it read (runs and decoded tails alike) is
    /// found by its number, as the dead letter of a late event needs it; overlong lines and
    /// lines of earlier reads are not.
    @Test func linesOfTheLastReadAreFoundByNumber() throws {
        var s = ""
        for k in 0..<3_000 {
            if k % 97 == 0 { s += "\n" }
            if k % 500 == 0 { s += String(repeating: "z", count: 60) + "\n" }
            s += #"{"ts":\#(1_700_000_000_000 + k),"x":\#(k),"c":"v\#(k % 5)"}"# + (k % 2 == 0 ? "\r\n" : "\n")
        }
        let bytes = Array(s.utf8)
        var expected = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            Array(line.last == 0x0D ? line.dropLast() : line[...])
        }
        if bytes.last == 0x0A { expected.removeLast() }
        let limits = DecoderLimits(maxEventBytes: 56)
        for (chunkBytes, compressed) in [(4_099, false), (977, true), (1 << 16, false)] {
            let scratch = try ScratchDirectory()
            var file = bytes
            if compressed { file = try Zstd.compress(bytes) }
            try Data(file).write(to: URL(fileURLWithPath: scratch.file("in")))
            let source = try ByteSource(path: scratch.file("in"), chunkBytes: chunkBytes, compressedReadBytes: 333)
            let reader = EventReader(source: source, schema: Self.schema, limits: limits, tailMinimumBytes: 1)
            var batch = EventBatch(numericCount: 1, categoricalCount: 1)
            var checked = 0
            var before: Int64 = 0
            while try reader.next(into: &batch, reject: { _ in }) {
                for n in (before + 1)...max(before + 1, reader.linesRead) where n <= reader.linesRead {
                    let line = expected[Int(n) - 1]
                    let found = reader.lineText(n).map { Array($0) }
                    #expect(found == (line.count > limits.maxEventBytes ? nil : line), "line \(n), chunks of \(chunkBytes)")
                    checked += 1
                }
                if before > 0 { #expect(reader.lineText(before) == nil || reader.linesRead == before) }
                before = reader.linesRead
            }
            #expect(checked == expected.count, "chunks of \(chunkBytes)")
            // Small reads: tails decoded on the reading thread are among what is looked up.
            if chunkBytes < 1 << 16 { #expect(reader.decodedTails > 0, "chunks of \(chunkBytes)") }
        }
    }

    /// Many runs and decoder blocks: a stream of well-formed events with a few bad ones,
    /// read in pieces that cut lines at many places.
    @Test func aLongStreamDecodesAsOneByOne() throws {
        var s = ""
        for k in 0..<3_000 {
            if k % 97 == 0 { s += "\n" }
            if k % 211 == 0 { s += #"{"ts":\#(k),"x":"bad"}"# + "\n" }
            s += #"{"ts":\#(1_700_000_000_000 + k),"x":\#(Double(k) / 8),"c":"v\#(k % 5)"}"# + (k % 2 == 0 ? "\r\n" : "\n")
        }
        let bytes = Array(s.utf8)
        // Lines up to the default limit: the reading thread decodes tails of many lines,
        // with blank and bad lines among them.
        for limits in [Self.limits, DecoderLimits()] {
            let expected = try decodeOneByOne(bytes, limits: limits)
            #expect(expected.accepted == 3_000)
            for compressed in [false, true] {
                for tailMinimumBytes in [1, 2_000, Int.max] {
                    var got = try read(
                        bytes, compressed: compressed, chunkBytes: 4_099, compressedReadBytes: 333,
                        tailMinimumBytes: tailMinimumBytes, limits: limits)
                    // About 33 chunks; a tail is never longer than a line may be, so with the
                    // 48-byte limit there are next to none.
                    if tailMinimumBytes == Int.max {
                        #expect(got.tails == 0)
                    } else if limits.maxEventBytes > 4_099 {
                        #expect(got.tails >= 20, "\(got.tails) tails")
                    }
                    got.tails = 0
                    got.longestTail = 0
                    #expect(got == expected, "compressed \(compressed), tails from \(tailMinimumBytes)")
                }
            }
        }
    }
}
