import CZstd

/// Decompresses zstd frames block by block straight into caller-owned output segments,
/// with zstd's buffer-less API: unlike `ZSTD_decompressStream`, nothing is decoded into a
/// window buffer of zstd's own and copied out afterwards.
///
/// A block may copy from anywhere in the frame's window, so decoded data must stay where
/// it was written: zstd keeps reading the previous segment while it fills the next one. The
/// caller's contract:
/// - each segment holds at least ``segmentBytes(window:)`` bytes and is filled until
///   ``step(_:into:)`` refuses a block for lack of room (then every match lies in the
///   current or the previous segment);
/// - the previous segment's bytes stay unchanged (and in place) while the next is filled.
///
/// Frames are handled one at a time: the caller checks each frame's header with
/// ``frameHeader(_:)`` and calls ``beginFrame()`` before feeding it.
///
/// Owns a `ZSTD_DCtx` and frees it in `deinit`. Not `Sendable`: one thread at a time.
public final class ZstdSegmentDecompressor {
    /// The `ZSTD_DCtx`, owned.
    private let context: OpaquePointer
    /// Whether a frame is being decoded (between ``beginFrame()`` and its last step).
    public private(set) var isInsideFrame = false

    /// The largest block zstd writes at once (`ZSTD_BLOCKSIZE_MAX`).
    public static let blockBytes = 128 << 10
    /// The largest window accepted for segments (8 MiB, `zstd -19`'s); larger windows
    /// would need larger segments: streaming decompression serves those.
    public static let maxWindow = 8 << 20

    /// The smallest segment that keeps every match of a frame with this window within the
    /// current and the previous segment.
    public static func segmentBytes(window: Int) -> Int { window + blockBytes }

    /// What the header at the start of a frame says.
    public enum FrameHeader: Equatable {
        /// More bytes are needed to read the header (at most 18 in all).
        case needs(Int)
        /// A frame of compressed data with this window size.
        case frame(window: Int)
        /// A skippable frame of this many bytes in all (header included).
        case skippable(bytes: Int)
    }

    public init() {
        guard let context = ZSTD_createDCtx() else {
            fatalError("ZSTD_createDCtx: out of memory")
        }
        self.context = context
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    /// Reads the header of the frame that starts at `bytes`.
    ///
    /// The corresponding C function is `ZSTD_getFrameHeader`.
    ///
    /// - Throws: ``ZstdError`` when the bytes are not the start of a zstd frame.
    public static func frameHeader(_ bytes: UnsafeRawBufferPointer) throws -> FrameHeader {
        var header = ZSTD_frameHeader()
        let result = ZSTD_getFrameHeader(&header, bytes.baseAddress, bytes.count)
        if result > 0 && ZSTD_isError(result) == 0 { return .needs(result) }
        _ = try zstdCheck(result, "ZSTD_getFrameHeader")
        if header.frameType == ZSTD_skippableFrame {
            // Magic and size (8 bytes; `headerSize` is not set for these), then the content.
            return .skippable(bytes: 8 &+ Int(header.frameContentSize))
        }
        return .frame(window: Int(header.windowSize))
    }

    /// Starts decoding a frame. The corresponding C function is `ZSTD_decompressBegin`.
    public func beginFrame() throws {
        _ = try zstdCheck(ZSTD_decompressBegin(context), "ZSTD_decompressBegin")
        isInsideFrame = true
    }

    /// How many input bytes the next ``step(_:into:)`` takes; 0 between frames.
    public var nextInputBytes: Int {
        isInsideFrame ? ZSTD_nextSrcSizeToDecompress(context) : 0
    }

    /// Whether the next step decodes a block, the frame's last included (and so needs up to
    /// ``blockBytes`` of room).
    public var nextIsBlock: Bool {
        guard isInsideFrame else { return false }
        let next = ZSTD_nextInputType(context)
        return next == ZSTDnit_block || next == ZSTDnit_lastBlock
    }

    /// Feeds exactly ``nextInputBytes`` bytes and writes what they decode to at the start of
    /// `output` (a header or a block header writes nothing).
    ///
    /// The corresponding C function is `ZSTD_decompressContinue`; the frame's checksum is
    /// verified with its last step.
    ///
    /// - Returns: How many bytes were written.
    /// - Throws: ``ZstdError`` for damaged data; the frame is then abandoned.
    public func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            let written = try zstdCheck(
                ZSTD_decompressContinue(context, output.baseAddress, output.count, input.baseAddress, input.count),
                "ZSTD_decompressContinue")
            if ZSTD_nextSrcSizeToDecompress(context) == 0 { isInsideFrame = false }
            return written
        } catch {
            isInsideFrame = false
            throw error
        }
    }
}
