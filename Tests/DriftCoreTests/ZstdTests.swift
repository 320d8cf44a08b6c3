import Foundation
import Testing

@testable import DriftCore

// MARK: - Test data

/// Deterministic test data and helpers of the zstd tests, namespaced so they cannot
/// collide with other test files of the module.
enum ZstdTestData {
    /// SplitMix64: a small seeded generator, so every run compresses the same bytes.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Incompressible bytes.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < count {
                let word = generator.next()
                let n = min(8, count - offset)
                withUnsafeBytes(of: word) { buffer.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: n) }
                offset += n
            }
        }
        return bytes
    }

    /// Compressible text shaped like the NDJSON events Driftline reads.
    static func eventText(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        let countries = ["DE", "FR", "US", "BR", "JP", "IN"]
        var text: [UInt8] = []
        text.reserveCapacity(count + 128)
        var ts = 1_767_225_600_000
        while text.count < count {
            ts += Int(generator.next() % 1000)
            let amount = Double(generator.next() % 100_000) / 100
            let country = countries[Int(generator.next() % UInt64(countries.count))]
            text += Array(#"{"ts":\#(ts),"model":"fraud-v3","features":{"amount":\#(amount),"country":"\#(country)"},"prediction":0.\#(generator.next() % 1000)}"#.utf8)
            text.append(UInt8(ascii: "\n"))
        }
        return Array(text.prefix(count))
    }

    /// FNV-1a over a byte stream; chunking does not change it.
    struct RunningChecksum {
        private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
        private(set) var count = 0

        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            var h = value
            for byte in bytes {
                h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
            value = h
            count += bytes.count
        }
    }

    /// Compresses `data` with a ``ZstdCompressor`` fed `chunkSize` bytes at a time.
    static func streamCompress(_ data: [UInt8], chunkSize: Int, level: Int = 3) throws -> [UInt8] {
        let compressor = ZstdCompressor(level: level)
        var out: [UInt8] = []
        try data.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + chunkSize, all.count)
                try compressor.compress(UnsafeRawBufferPointer(rebasing: all[offset..<end])) { out += $0 }
                offset = end
            }
        }
        try compressor.finish { out += $0 }
        return out
    }

    /// Decompresses `data` with a ``ZstdDecompressor`` fed `chunkSize` bytes at a time.
    static func streamDecompress(_ data: [UInt8], chunkSize: Int) throws -> [UInt8] {
        let decompressor = ZstdDecompressor()
        var out: [UInt8] = []
        try data.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + chunkSize, all.count)
                try decompressor.decompress(UnsafeRawBufferPointer(rebasing: all[offset..<end])) { out += $0 }
                offset = end
            }
        }
        try decompressor.finish()
        return out
    }

    struct SinkFailure: Error {}

    /// The `zstd` command-line tool, if installed.
    static let zstdTool: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"] {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent("zstd")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()
}

// MARK: - One-shot

@Suite struct ZstdTests {
    @Test func libraryVersion() {
        let version = Zstd.libraryVersion
        #expect(version.split(separator: ".").count == 3, "\(version)")
        #expect(version.hasPrefix("1."))
    }

    @Test func recognizesFramesByMagicBytes() throws {
        let frame = try Zstd.compress(Array("hello".utf8))
        #expect(Zstd.isFrame(frame))
        #expect(Zstd.isFrame(frame.prefix(4)))
        #expect(Zstd.isFrame([0x28, 0xB5, 0x2F, 0xFD]))
        #expect(!Zstd.isFrame([0x28, 0xB5, 0x2F]))
        #expect(!Zstd.isFrame([UInt8]()))
        #expect(!Zstd.isFrame(Array(#"{"ts":1}"#.utf8)))
        #expect(!Zstd.isFrame([0xFD, 0x2F, 0xB5, 0x28]))  // big-endian is not the magic
    }

    @Test("random bytes round-trip", arguments: [0, 1, 2, 3, 100, 4096, 131_072, 131_073, 1_000_003])
    func randomRoundTrip(count: Int) throws {
        let data = ZstdTestData.randomBytes(count, seed: UInt64(count) &+ 1)
        let compressed = try Zstd.compress(data)
        #expect(Zstd.isFrame(compressed))
        #expect(try Zstd.decompress(compressed) == data)
    }

    @Test("compressible text round-trips and shrinks", arguments: [1, 3, 19])
    func textRoundTrip(level: Int) throws {
        let data = ZstdTestData.eventText(500_000, seed: 7)
        let compressed = try Zstd.compress(data, level: level)
        #expect(compressed.count < data.count / 4, "\(compressed.count) bytes from \(data.count)")
        #expect(try Zstd.decompress(compressed) == data)
    }

    @Test func emptyInputIsAnEmptyFrame() throws {
        let compressed = try Zstd.compress([UInt8]())
        #expect(Zstd.isFrame(compressed))
        #expect(try Zstd.decompress(compressed) == [])
        // A stream of no frames at all is accepted too.
        #expect(try Zstd.decompress([UInt8]()) == [])
    }

    @Test func unsafeBufferForms() throws {
        let data = ZstdTestData.eventText(10_000, seed: 3)
        let compressed = try data.withUnsafeBytes { try Zstd.compress($0, level: 5) }
        #expect(try compressed.withUnsafeBytes { try Zstd.decompress($0) } == data)
    }

    @Test func concatenatedFramesDecompressInOrder() throws {
        let a = ZstdTestData.eventText(70_000, seed: 1)
        let b = ZstdTestData.randomBytes(5_000, seed: 2)
        let c = ZstdTestData.eventText(300, seed: 3)
        let stream = try Zstd.compress(a) + Zstd.compress([UInt8]()) + Zstd.compress(b, level: 1) + Zstd.compress(c)
        #expect(try Zstd.decompress(stream) == a + b + c)
        #expect(try ZstdTestData.streamDecompress(stream, chunkSize: 7) == a + b + c)
    }

    @Test func compressorWritesOneFramePerFinish() throws {
        let compressor = ZstdCompressor()
        var stream: [UInt8] = []
        let parts = [ZstdTestData.eventText(40_000, seed: 11), [], ZstdTestData.randomBytes(999, seed: 12)]
        for part in parts {
            try compressor.compress(part) { stream += $0 }
            try compressor.finish { stream += $0 }
        }
        #expect(try Zstd.decompress(stream) == parts.flatMap { $0 })
    }

    @Test("truncated input is refused", arguments: [1, 3, 4, 5, 9, 100, 5_000, -9, -4, -1])
    func truncatedInput(cut: Int) throws {
        let compressed = try Zstd.compress(ZstdTestData.eventText(50_000, seed: 5))
        let length = cut > 0 ? cut : compressed.count + cut
        let truncated = Array(compressed.prefix(length))
        let error = try #require(throws: ZstdError.self) { try Zstd.decompress(truncated) }
        #expect(error.code == .sourceSizeWrong, "\(error)")
    }

    @Test func truncatedSecondFrameIsRefused() throws {
        let first = try Zstd.compress(ZstdTestData.eventText(1_000, seed: 1))
        let second = try Zstd.compress(ZstdTestData.eventText(1_000, seed: 2))
        #expect(throws: ZstdError.self) { try Zstd.decompress(first + second.dropLast(3)) }
        // Trailing bytes after a complete frame that do not start another one are garbage.
        #expect(throws: ZstdError.self) { try Zstd.decompress(first + [0x28, 0xB5]) }
    }

    @Test func garbageIsRefused() throws {
        let error = try #require(throws: ZstdError.self) {
            try Zstd.decompress(Array(#"{"ts":1,"model":"m"}"#.utf8))
        }
        #expect(error.code == .prefixUnknown)
        #expect(error.name == "Unknown frame descriptor")
        #expect(error.description.contains("Unknown frame descriptor"))
        #expect(throws: ZstdError.self) { try Zstd.decompress(ZstdTestData.randomBytes(10_000, seed: 99)) }
        // A valid magic number followed by nonsense.
        #expect(throws: ZstdError.self) { try Zstd.decompress([0x28, 0xB5, 0x2F, 0xFD] + ZstdTestData.randomBytes(1_000, seed: 98)) }
    }

    @Test func corruptionIsDetected() throws {
        let data = ZstdTestData.eventText(200_000, seed: 8)
        var compressed = try Zstd.compress(data)
        compressed[compressed.count / 2] ^= 0x5A
        // Either the block decoder or the content checksum catches it.
        #expect(throws: ZstdError.self) { try Zstd.decompress(compressed) }
    }
}

// MARK: - Streaming

@Suite struct ZstdStreamingTests {
    static let data = ZstdTestData.eventText(600_000, seed: 21) + ZstdTestData.randomBytes(150_000, seed: 22) + ZstdTestData.eventText(50_000, seed: 23)

    @Test("streamed compression in odd chunk sizes", arguments: [1, 7, 65_536])
    func streamedCompression(chunkSize: Int) throws {
        let data = Self.data
        let compressed = try ZstdTestData.streamCompress(data, chunkSize: chunkSize)
        #expect(Zstd.isFrame(compressed))
        #expect(compressed.count < data.count)
        #expect(try Zstd.decompress(compressed) == data)
    }

    @Test("streamed decompression in odd chunk sizes", arguments: [1, 7, 65_536])
    func streamedDecompression(chunkSize: Int) throws {
        let data = Self.data
        let compressed = try Zstd.compress(data)
        #expect(try ZstdTestData.streamDecompress(compressed, chunkSize: chunkSize) == data)
    }

    @Test("streaming both directions, frames without a content size", arguments: [1, 7, 65_536])
    func streamedBothWays(chunkSize: Int) throws {
        let data = Self.data
        let compressed = try ZstdTestData.streamCompress(data, chunkSize: 65_536 + chunkSize)
        #expect(try ZstdTestData.streamDecompress(compressed, chunkSize: chunkSize) == data)
    }

    /// Decompressing straight into a caller's buffer, with inputs and outputs of odd sizes,
    /// over two concatenated frames: the data comes out whole, and an output that fills up
    /// holds the rest back for the next call (flushed with empty input at the end).
    @Test("decompression into the caller's buffer", arguments: [(1, 1), (7, 3), (65_536, 1_000), (300, 1 << 20)])
    func decompressionIntoABuffer(inputChunk: Int, outputSize: Int) throws {
        let data = Self.data
        let compressed = try Zstd.compress(Array(data[..<400_000])) + ZstdTestData.streamCompress(Array(data[400_000...]), chunkSize: 65_536)
        let decompressor = ZstdDecompressor()
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: outputSize, alignment: 1)
        defer { output.deallocate() }
        var out: [UInt8] = []
        try compressed.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + inputChunk, all.count)
                let (read, written) = try decompressor.decompress(UnsafeRawBufferPointer(rebasing: all[offset..<end]), into: output)
                #expect(read > 0 || written > 0)
                out += output[..<written]
                offset += read
            }
        }
        while true {
            let (read, written) = try decompressor.decompress(UnsafeRawBufferPointer(start: nil, count: 0), into: output)
            #expect(read == 0)
            out += output[..<written]
            if written == 0 { break }
        }
        try decompressor.finish()
        #expect(out == data)
    }

    @Test func decompressionIntoABufferNoticesATruncatedStream() throws {
        let compressed = try Zstd.compress(ZstdTestData.eventText(20_000, seed: 4))
        let decompressor = ZstdDecompressor()
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { output.deallocate() }
        _ = try compressed.dropLast(10).withUnsafeBytes { try decompressor.decompress($0, into: output) }
        #expect(throws: ZstdError.self) { try decompressor.finish() }
        #expect(throws: ZstdError.self) {
            _ = try Array("not zstd at all".utf8).withUnsafeBytes { try decompressor.decompress($0, into: output) }
        }
    }

    @Test func streamEndingInsideAFrameFailsAtFinish() throws {
        let compressed = try Zstd.compress(ZstdTestData.eventText(20_000, seed: 4))
        let decompressor = ZstdDecompressor()
        var out: [UInt8] = []
        try decompressor.decompress(Array(compressed.dropLast(10))) { out += $0 }
        let error = try #require(throws: ZstdError.self) { try decompressor.finish() }
        #expect(error.code == .sourceSizeWrong)
        // The decompressor is usable again for a new stream.
        out = []
        try decompressor.decompress(compressed) { out += $0 }
        try decompressor.finish()
        #expect(out == ZstdTestData.eventText(20_000, seed: 4))
    }

    @Test func emptyChunksChangeNothing() throws {
        let decompressor = ZstdDecompressor()
        try decompressor.decompress([UInt8]()) { _ in Issue.record("no output expected") }
        try decompressor.finish()
        let compressor = ZstdCompressor()
        var frame: [UInt8] = []
        try compressor.compress([UInt8]()) { frame += $0 }
        try compressor.finish { frame += $0 }
        #expect(try Zstd.decompress(frame) == [])
    }

    @Test func aFailingSinkAbandonsTheFrameAndTheCompressorRecovers() throws {
        let compressor = ZstdCompressor()
        let data = ZstdTestData.randomBytes(1_000_000, seed: 31)
        #expect(throws: ZstdTestData.SinkFailure.self) {
            try compressor.compress(data) { _ in throw ZstdTestData.SinkFailure() }
        }
        var frame: [UInt8] = []
        let next = ZstdTestData.eventText(10_000, seed: 32)
        try compressor.compress(next) { frame += $0 }
        try compressor.finish { frame += $0 }
        #expect(try Zstd.decompress(frame) == next)

        let decompressor = ZstdDecompressor()
        let compressed = try Zstd.compress(data)
        #expect(throws: ZstdTestData.SinkFailure.self) {
            try decompressor.decompress(compressed) { _ in throw ZstdTestData.SinkFailure() }
        }
        var out: [UInt8] = []
        try decompressor.decompress(frame) { out += $0 }
        try decompressor.finish()
        #expect(out == next)
    }

    /// 64 MiB through compressor and decompressor chained chunk by chunk: neither the
    /// input, the compressed stream nor the output is ever held whole, only running
    /// checksums of what went in and what came out.
    @Test func sixtyFourMebibytesStreamedInBoundedMemory() throws {
        let total = 64 << 20
        let compressor = ZstdCompressor(level: 1)
        let decompressor = ZstdDecompressor()
        var input = ZstdTestData.RunningChecksum()
        var output = ZstdTestData.RunningChecksum()
        var compressedBytes = 0
        var largestChunk = 0
        let sink: (UnsafeRawBufferPointer) throws -> Void = { compressed in
            compressedBytes += compressed.count
            largestChunk = max(largestChunk, compressed.count)
            try decompressor.decompress(compressed) { output.add($0) }
        }

        var generator = ZstdTestData.SplitMix64(seed: 64)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let text = ZstdTestData.eventText(1 << 20, seed: 65)
        var produced = 0
        var round = 0
        while produced < total {
            // Odd sizes, alternating incompressible and text-like content.
            let size = min(total - produced, (1 << 20) - 12_345 * (round % 7))
            chunk.withUnsafeMutableBytes { buffer in
                if round % 3 == 0 {
                    let words = buffer.bindMemory(to: UInt64.self)
                    for i in 0..<(size + 7) / 8 { words[i] = generator.next() }
                } else {
                    text.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<size])) }
                }
            }
            try chunk.withUnsafeBytes { all in
                let piece = UnsafeRawBufferPointer(rebasing: all[0..<size])
                input.add(piece)
                try compressor.compress(piece, into: sink)
            }
            produced += size
            round += 1
        }
        try compressor.finish(into: sink)
        try decompressor.finish()

        #expect(input.count == total)
        #expect(output.count == total)
        #expect(output.value == input.value)
        #expect(compressedBytes < total)
        #expect(largestChunk <= ZstdCompressor.outputCapacity, "the compressor hands out one output buffer at a time")
    }
}

// MARK: - Command-line tool

@Suite(.enabled(if: ZstdTestData.zstdTool != nil, "the zstd command-line tool is not installed (searched PATH and /usr/bin); skipping CLI interoperation"))
struct ZstdCommandLineTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("driftline-zstd-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs the `zstd` tool with `arguments`, stdin from `input` and stdout to `output`
    /// (files, so no pipe buffer can fill up), and requires it to succeed.
    func zstd(_ arguments: [String], stdin input: URL? = nil, stdout output: URL? = nil) throws {
        let process = Process()
        let tool: URL = try #require(ZstdTestData.zstdTool)
        process.executableURL = tool
        process.arguments = arguments
        if let input { process.standardInput = try FileHandle(forReadingFrom: input) }
        if let output {
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: output)
        }
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "zstd \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }

    func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    func write(_ bytes: [UInt8], to url: URL) throws { try Data(bytes).write(to: url) }

    func read(_ url: URL) throws -> [UInt8] { try [UInt8](Data(contentsOf: url)) }

    @Test("the tool's frames decompress with the wrapper", arguments: [
        ["-q", "-f"], ["-q", "-f", "-19"], ["-q", "-f", "--no-check"], ["-q", "-f", "--fast=5"],
    ])
    func toolToWrapper(options: [String]) throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = ZstdTestData.eventText(300_000, seed: 41) + ZstdTestData.randomBytes(70_000, seed: 42)
        try write(data, to: file("in"))
        try zstd(options + [file("in").path, "-o", file("in.zst").path])
        let compressed = try read(file("in.zst"))
        #expect(Zstd.isFrame(compressed))
        #expect(try Zstd.decompress(compressed) == data)
        #expect(try ZstdTestData.streamDecompress(compressed, chunkSize: 7) == data)
    }

    @Test func toolReadingAPipeWritesFramesWithoutContentSize() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = ZstdTestData.eventText(400_000, seed: 43)
        try write(data, to: file("in"))
        try zstd(["-q", "-c"], stdin: file("in"), stdout: file("in.zst"))
        #expect(try Zstd.decompress(read(file("in.zst"))) == data)
    }

    @Test func toolsConcatenatedFilesDecompressWithTheWrapper() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = ZstdTestData.eventText(50_000, seed: 44)
        let b = ZstdTestData.randomBytes(20_000, seed: 45)
        try write(a, to: file("a"))
        try write(b, to: file("b"))
        try zstd(["-q", "-f", file("a").path, "-o", file("a.zst").path])
        try zstd(["-q", "-f", file("b").path, "-o", file("b.zst").path])
        let stream = try read(file("a.zst")) + read(file("b.zst"))
        #expect(try Zstd.decompress(stream) == a + b)
    }

    @Test func wrapperFramesDecompressWithTheTool() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = ZstdTestData.eventText(300_000, seed: 46) + ZstdTestData.randomBytes(50_000, seed: 47)
        // One-shot (content size recorded), streamed (none), and two frames back to back.
        let oneShot = try Zstd.compress(data, level: 7)
        let streamed = try ZstdTestData.streamCompress(data, chunkSize: 7_777)
        let second = ZstdTestData.eventText(1_000, seed: 48)
        let concatenated = oneShot + (try Zstd.compress(second))
        for (name, compressed, expected) in [
            ("one-shot", oneShot, data), ("streamed", streamed, data), ("concatenated", concatenated, data + second),
        ] {
            try write(compressed, to: file("\(name).zst"))
            try zstd(["-q", "-d", "-f", file("\(name).zst").path, "-o", file(name).path])
            #expect(try read(file(name)) == expected, "\(name)")
            try zstd(["-q", "-t", file("\(name).zst").path])  // checksum verified by the tool
        }
    }

    @Test func toolRefusesTruncatedWrapperOutputAsTheWrapperDoes() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let compressed = try Zstd.compress(ZstdTestData.eventText(100_000, seed: 49))
        let truncated = Array(compressed.dropLast(20))
        try write(truncated, to: file("cut.zst"))
        let process = Process()
        let tool: URL = try #require(ZstdTestData.zstdTool)
        process.executableURL = tool
        process.arguments = ["-q", "-t", file("cut.zst").path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(throws: ZstdError.self) { try Zstd.decompress(truncated) }
    }
}
