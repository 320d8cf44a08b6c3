import CZstd

/// Zstandard compression of snapshots, recordings and compressed inputs.
///
/// The one-shot functions here run on the streaming ``ZstdCompressor`` and
/// ``ZstdDecompressor``; use those directly for data that should not be held in memory
/// at once. Every `ZSTD_*` call of Driftline lives in this folder (`Compression/`), and
/// every zstd return code becomes a Swift error in one function, `zstdCheck(_:_:)`.
///
/// Frames are written with a content checksum (as the `zstd` command-line tool writes
/// them), so corruption is detected when the frame is decoded.
public enum Zstd {
    /// The version of the linked zstd library, such as `"1.5.5"`.
    ///
    /// The corresponding C function is `ZSTD_versionString`.
    public static var libraryVersion: String {
        String(cString: ZSTD_versionString())
    }

    /// The compression level the `zstd` command-line tool uses by default.
    public static let defaultLevel = 3

    /// The first four bytes of every zstd frame: the magic number 0xFD2FB528, little-endian.
    static let frameMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Whether `prefix` starts with the magic number of a zstd frame (`28 B5 2F FD`).
    ///
    /// Inputs are recognized as compressed by this, not by their file name. Skippable
    /// frames (magic 0x184D2A5?) are not recognized: a zstd stream that begins with one
    /// is reported as not compressed.
    ///
    /// - Parameter prefix: The first bytes of the data; four are enough, fewer give `false`.
    /// - Returns: `true` if the data starts with a zstd frame header.
    public static func isFrame(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.starts(with: frameMagic)
    }

    /// Compresses `bytes` into a single zstd frame.
    ///
    /// The frame records the content size, so `zstd -l` and ``decompress(_:)-(UnsafeRawBufferPointer)``
    /// know it in advance, and carries a content checksum.
    ///
    /// The corresponding C function is `ZSTD_compress2`.
    ///
    /// - Parameters:
    ///   - bytes: The data to compress; may be empty (the frame then encodes no bytes).
    ///   - level: The compression level, 1 to 22 (negative levels are faster still); out
    ///     of range levels are clamped by zstd.
    /// - Returns: The frame.
    /// - Throws: ``ZstdError`` if zstd fails (in practice only when memory runs out).
    public static func compress(_ bytes: UnsafeRawBufferPointer, level: Int = defaultLevel) throws -> [UInt8] {
        try ZstdCompressor(level: level).compressWhole(bytes)
    }

    /// Compresses `bytes` into a single zstd frame; see ``compress(_:level:)-(UnsafeRawBufferPointer,_)``.
    ///
    /// - Parameters:
    ///   - bytes: The data to compress; may be empty.
    ///   - level: The compression level (default 3, as the `zstd` tool).
    /// - Returns: The frame.
    /// - Throws: ``ZstdError`` if zstd fails.
    public static func compress(_ bytes: [UInt8], level: Int = defaultLevel) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress($0, level: level) }
    }

    /// Decompresses a complete zstd stream: one or more concatenated frames.
    ///
    /// Frames need not record their content size (streamed frames, `zstd` reading a
    /// pipe). Skippable frames are skipped. Empty input decompresses to no bytes.
    ///
    /// - Parameter bytes: The compressed stream.
    /// - Returns: The concatenated contents of its frames.
    /// - Throws: ``ZstdError`` for data that is not zstd, corrupt data (including a
    ///   checksum mismatch), and input that ends inside a frame
    ///   (``ZstdError/Code/sourceSizeWrong``).
    public static func decompress(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        let decompressor = ZstdDecompressor()
        var output: [UInt8] = []
        // A declared content size is a hint from untrusted data: reserve at most 64 MiB
        // on its word, and let the array grow past that if the data is really larger.
        if let base = bytes.baseAddress {
            let declared = ZSTD_getFrameContentSize(base, bytes.count)
            if declared < ZSTD_CONTENTSIZE_ERROR {
                output.reserveCapacity(Int(min(declared, 1 << 26)))
            }
        }
        try decompressor.decompress(bytes) { output.append(contentsOf: $0) }
        try decompressor.finish()
        return output
    }

    /// Decompresses a complete zstd stream; see ``decompress(_:)-(UnsafeRawBufferPointer)``.
    ///
    /// - Parameter bytes: The compressed stream: one or more concatenated frames.
    /// - Returns: The concatenated contents of its frames.
    /// - Throws: ``ZstdError`` for data that is not zstd, corrupt or truncated.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try decompress($0) }
    }
}

/// An error reported by zstd, or found by Driftline around it (truncated input).
public struct ZstdError: Error, CustomStringConvertible, Sendable, Hashable {
    /// A zstd error code (`ZSTD_ErrorCode` in `zstd_errors.h`); stable across zstd versions.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// The data does not start with a zstd frame (`ZSTD_error_prefix_unknown`).
        public static let prefixUnknown = Code(rawValue: Int(ZSTD_error_prefix_unknown.rawValue))
        /// The data is damaged (`ZSTD_error_corruption_detected`).
        public static let corruptionDetected = Code(rawValue: Int(ZSTD_error_corruption_detected.rawValue))
        /// The content checksum does not match (`ZSTD_error_checksum_wrong`).
        public static let checksumWrong = Code(rawValue: Int(ZSTD_error_checksum_wrong.rawValue))
        /// The input ends inside a frame, or sizes disagree (`ZSTD_error_srcSize_wrong`).
        public static let sourceSizeWrong = Code(rawValue: Int(ZSTD_error_srcSize_wrong.rawValue))
        /// The frame needs a larger window than the decompressor allows
        /// (`ZSTD_error_frameParameter_windowTooLarge`).
        public static let windowTooLarge = Code(rawValue: Int(ZSTD_error_frameParameter_windowTooLarge.rawValue))
        /// zstd could not allocate memory (`ZSTD_error_memory_allocation`).
        public static let memoryAllocation = Code(rawValue: Int(ZSTD_error_memory_allocation.rawValue))

        /// zstd's name for the error. The corresponding C function is `ZSTD_getErrorString`.
        public var description: String {
            String(cString: ZSTD_getErrorString(ZSTD_ErrorCode(rawValue: UInt32(truncatingIfNeeded: rawValue))))
        }
    }

    /// The zstd error code.
    public var code: Code
    /// zstd's text for the error (`ZSTD_getErrorName`), such as `"Unknown frame descriptor"`.
    public var name: String
    /// What Driftline was doing, when that helps (for example which call failed).
    public var context: String

    /// An error of the given code, named as zstd names it.
    init(code: Code, context: String) {
        self.code = code
        self.name = code.description
        self.context = context
    }

    public var description: String {
        "zstd: \(name) (error \(code.rawValue)) in \(context)"
    }
}

/// Returns a zstd `size_t` result, or throws the ``ZstdError`` it encodes.
///
/// The one place where zstd return codes become Swift errors: every `size_t`-returning
/// `ZSTD_*` call of Driftline goes through it. The corresponding C functions are
/// `ZSTD_isError`, `ZSTD_getErrorCode` and `ZSTD_getErrorName`.
///
/// - Parameters:
///   - result: What the zstd function returned.
///   - context: The function called, for the error message.
/// - Returns: `result`, when it is not an error.
/// - Throws: ``ZstdError`` when it is.
@inline(__always)
func zstdCheck(_ result: Int, _ context: @autoclosure () -> String) throws(ZstdError) -> Int {
    guard ZSTD_isError(result) != 0 else { return result }
    var error = ZstdError(code: .init(rawValue: Int(ZSTD_getErrorCode(result).rawValue)), context: context())
    error.name = String(cString: ZSTD_getErrorName(result))
    throw error
}
