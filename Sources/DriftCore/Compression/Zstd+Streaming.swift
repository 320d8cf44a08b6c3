import CZstd

// MARK: - Compressor

/// A streaming zstd compressor: chunks in, one zstd frame out, in bounded memory.
///
/// Feed the data with ``compress(_:into:)`` in chunks of any size, then call
/// ``finish(into:)`` to end the frame. Compressed bytes are handed to the `sink` as they
/// are produced, through one output buffer of `ZSTD_CStreamOutSize()` bytes (about
/// 128 KiB) allocated once, so neither the input nor the output ever needs to be in
/// memory as a whole. After ``finish(into:)`` the compressor starts a new frame with the
/// next chunk: frames written one after the other form a valid concatenated stream.
///
/// Frames carry a content checksum but no content size (it is not known in advance).
///
/// The compressor owns a `ZSTD_CCtx` and frees it in `deinit`. It is deliberately not
/// `Sendable`: zstd allows one thread at a time on a context, and the frame in progress
/// is mutable state; give each task its own compressor.
///
/// If zstd or the sink throws, the frame in progress is abandoned (its output so far is
/// incomplete) and the compressor resets, ready to start a new frame.
public final class ZstdCompressor {
    /// The `ZSTD_CCtx`, owned: freed in `deinit`.
    private let context: OpaquePointer
    /// Output buffer of ``outputCapacity`` bytes, owned: freed in `deinit`.
    private let output: UnsafeMutableRawBufferPointer

    /// The size of the output buffer: `ZSTD_CStreamOutSize()`, enough for one compressed
    /// block whatever the input, so every zstd call makes progress.
    static var outputCapacity: Int { ZSTD_CStreamOutSize() }

    /// A compressor at the given level.
    ///
    /// The corresponding C functions are `ZSTD_createCCtx` and `ZSTD_CCtx_setParameter`.
    /// Like any Swift allocation, running out of memory for the context traps; nothing
    /// else can fail here (zstd clamps out of range levels), so the initializer does not
    /// throw.
    ///
    /// - Parameter level: The compression level, 1 to 22 (default 3, as the `zstd` tool;
    ///   negative levels are faster still). Out of range levels are clamped by zstd.
    public init(level: Int = Zstd.defaultLevel) {
        guard let context = ZSTD_createCCtx() else {
            fatalError("ZSTD_createCCtx: out of memory")
        }
        do {
            _ = try zstdCheck(
                ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(clamping: level)),
                "ZSTD_CCtx_setParameter(compressionLevel)")
            _ = try zstdCheck(
                ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1),
                "ZSTD_CCtx_setParameter(checksumFlag)")
        } catch {
            // Both values are in range for every zstd since 1.4 (levels are clamped).
            preconditionFailure("\(error)")
        }
        self.context = context
        self.output = .allocate(byteCount: Self.outputCapacity, alignment: 16)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    /// Compresses one chunk of the frame in progress (starting a frame if none is).
    ///
    /// zstd buffers input until it has a block to emit, so the sink may be called zero or
    /// more times. The corresponding C function is `ZSTD_compressStream2` with `ZSTD_e_continue`.
    ///
    /// - Parameters:
    ///   - chunk: The next bytes of the data; any size, including empty.
    ///   - sink: Receives compressed bytes in order. The buffer is valid only during the
    ///     call: do not escape the pointer.
    /// - Throws: ``ZstdError`` from zstd, or whatever `sink` throws; either way the frame
    ///   is abandoned.
    public func compress(
        _ chunk: UnsafeRawBufferPointer,
        into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var input = ZSTD_inBuffer(src: chunk.baseAddress, size: chunk.count, pos: 0)
        try abandoningFrameOnError {
            // ZSTD_e_continue: call until all input is consumed.
            repeat {
                _ = try stream(&input, ZSTD_e_continue, into: sink)
            } while input.pos < input.size
        }
    }

    /// Compresses one chunk of the frame in progress; see ``compress(_:into:)-(UnsafeRawBufferPointer,_)``.
    ///
    /// - Parameters:
    ///   - chunk: The next bytes of the data.
    ///   - sink: Receives compressed bytes; do not escape the pointer.
    /// - Throws: ``ZstdError`` from zstd, or whatever `sink` throws.
    public func compress(_ chunk: [UInt8], into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try chunk.withUnsafeBytes { try compress($0, into: sink) }
    }

    /// Ends the frame in progress: flushes what zstd buffered and writes the epilogue
    /// (last block and checksum).
    ///
    /// Without a preceding ``compress(_:into:)-(UnsafeRawBufferPointer,_)`` this writes a
    /// frame of no bytes. The corresponding C function is `ZSTD_compressStream2` with
    /// `ZSTD_e_end`.
    ///
    /// - Parameter sink: Receives the remaining compressed bytes; do not escape the pointer.
    /// - Throws: ``ZstdError`` from zstd, or whatever `sink` throws.
    public func finish(into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        try abandoningFrameOnError {
            // ZSTD_e_end: call until it returns 0, meaning the frame is fully flushed.
            while try stream(&input, ZSTD_e_end, into: sink) != 0 {}
        }
    }

    /// Compresses a whole buffer into one frame that records its content size.
    ///
    /// The corresponding C function is `ZSTD_compress2`, which always starts a new frame.
    func compressWhole(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = ZSTD_compressBound(bytes.count)
        return try [UInt8](unsafeUninitializedCapacity: bound) { buffer, initialized in
            // With ZSTD_compressBound bytes of room ZSTD_compress2 cannot run out of space.
            initialized = try zstdCheck(
                ZSTD_compress2(context, buffer.baseAddress, buffer.count, bytes.baseAddress, bytes.count),
                "ZSTD_compress2")
        }
    }

    /// One `ZSTD_compressStream2` call into the output buffer, handing what it produced
    /// to `sink`; returns zstd's result (for `ZSTD_e_end`, the bytes still to flush).
    private func stream(
        _ input: inout ZSTD_inBuffer,
        _ directive: ZSTD_EndDirective,
        into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = try zstdCheck(
            ZSTD_compressStream2(context, &out, &input, directive), "ZSTD_compressStream2")
        if out.pos > 0 {
            try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: out.pos))
        }
        return remaining
    }

    /// Runs `body`; if it throws, resets the session so the next chunk starts a new frame.
    private func abandoningFrameOnError(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            // Resetting the session only keeps the parameters (level, checksum); it
            // cannot fail, so its result is not checked.
            _ = ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
            throw error
        }
    }
}

@available(*, unavailable, message: "a ZstdCompressor owns a ZSTD_CCtx that one thread at a time may use")
extension ZstdCompressor: Sendable {}

// MARK: - Decompressor

/// A streaming zstd decompressor: compressed chunks in, data out, in bounded memory.
///
/// Feed the compressed stream with ``decompress(_:into:)`` in chunks of any size (frame
/// boundaries need not line up with chunks), then call ``finish()`` to check that the
/// stream did not end inside a frame. Concatenated frames, frames without a content size
/// and skippable frames are all handled. Decompressed bytes are handed to the `sink`
/// through one output buffer of `ZSTD_DStreamOutSize()` bytes (128 KiB), allocated once.
///
/// zstd's default limit applies to the frames' window size (128 MiB, `windowLog` 27):
/// frames written with `zstd --long=31`, say, are refused with
/// ``ZstdError/Code/windowTooLarge`` rather than allocating gigabytes.
///
/// The decompressor owns a `ZSTD_DCtx` and frees it in `deinit`. It is deliberately not
/// `Sendable`: zstd allows one thread at a time on a context, and the position in the
/// stream is mutable state; give each task its own decompressor.
///
/// If zstd or the sink throws, the decompressor resets: the next chunk must start a new
/// frame.
public final class ZstdDecompressor {
    /// The `ZSTD_DCtx`, owned: freed in `deinit`.
    private let context: OpaquePointer
    /// Output buffer of `ZSTD_DStreamOutSize()` bytes, owned: freed in `deinit`.
    private let output: UnsafeMutableRawBufferPointer
    /// Whether the input so far ends inside a frame (zstd asked for more input).
    private var isInsideFrame = false

    /// A decompressor.
    ///
    /// The corresponding C function is `ZSTD_createDCtx`. Like any Swift allocation,
    /// running out of memory for the context traps, so the initializer does not throw.
    public init() {
        guard let context = ZSTD_createDCtx() else {
            fatalError("ZSTD_createDCtx: out of memory")
        }
        self.context = context
        self.output = .allocate(byteCount: ZSTD_DStreamOutSize(), alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(context)
        output.deallocate()
    }

    /// Decompresses the next chunk of the compressed stream.
    ///
    /// The corresponding C function is `ZSTD_decompressStream`.
    ///
    /// - Parameters:
    ///   - chunk: The next compressed bytes; any size, including empty.
    ///   - sink: Receives decompressed bytes in order. The buffer is valid only during the
    ///     call: do not escape the pointer.
    /// - Throws: ``ZstdError`` for data that is not zstd or is corrupt, or whatever `sink`
    ///   throws; either way the decompressor resets.
    public func decompress(
        _ chunk: UnsafeRawBufferPointer,
        into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var input = ZSTD_inBuffer(src: chunk.baseAddress, size: chunk.count, pos: 0)
        do {
            while true {
                var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
                let consumedBefore = input.pos
                // 0: a frame is complete and fully flushed; > 0: zstd wants more input or
                // still holds output of the current frame.
                let hint = try zstdCheck(
                    ZSTD_decompressStream(context, &out, &input), "ZSTD_decompressStream")
                // A call that neither read nor wrote (an empty chunk) says nothing new: a
                // fresh decompressor asks for a frame header even when the stream is empty.
                if input.pos > consumedBefore || out.pos > 0 {
                    isInsideFrame = hint != 0
                }
                if out.pos > 0 {
                    try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: out.pos))
                }
                // A full output buffer may leave data inside zstd: call again until the
                // input is consumed and zstd had room to spare.
                if input.pos == input.size && out.pos < out.size { break }
            }
        } catch {
            reset()
            throw error
        }
    }

    /// Decompresses as much of `input` as zstd can into `output`, with no copy through the
    /// decompressor's own output buffer.
    ///
    /// One call makes progress when `input` or `output` has room; call again with the rest
    /// of the input (or, at the end of the stream, with an empty input) until it reads and
    /// writes nothing. When `output` fills up, zstd may hold decompressed bytes back for the
    /// next call. The corresponding C function is `ZSTD_decompressStream`.
    ///
    /// - Parameters:
    ///   - input: The next compressed bytes; any size, including empty.
    ///   - output: Where decompressed bytes go, from its start.
    /// - Returns: How many bytes of `input` were consumed and of `output` written.
    /// - Throws: ``ZstdError`` for data that is not zstd or is corrupt; the decompressor
    ///   then resets.
    public func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws -> (read: Int, written: Int) {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        do {
            let hint = try zstdCheck(ZSTD_decompressStream(context, &outBuffer, &inBuffer), "ZSTD_decompressStream")
            // As in the sink variant: a call that neither read nor wrote says nothing new.
            if inBuffer.pos > 0 || outBuffer.pos > 0 {
                isInsideFrame = hint != 0
            }
        } catch {
            reset()
            throw error
        }
        return (inBuffer.pos, outBuffer.pos)
    }

    /// Decompresses the next chunk; see ``decompress(_:into:)-(UnsafeRawBufferPointer,_)``.
    ///
    /// - Parameters:
    ///   - chunk: The next compressed bytes.
    ///   - sink: Receives decompressed bytes; do not escape the pointer.
    /// - Throws: ``ZstdError`` for bad data, or whatever `sink` throws.
    public func decompress(_ chunk: [UInt8], into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try chunk.withUnsafeBytes { try decompress($0, into: sink) }
    }

    /// Declares the end of the compressed stream, checking that it ended between frames.
    ///
    /// Afterwards the decompressor is ready for a new stream. A stream of no bytes at all
    /// is accepted (it holds no frames).
    ///
    /// - Throws: ``ZstdError`` with ``ZstdError/Code/sourceSizeWrong`` if the stream
    ///   ended inside a frame (truncated input).
    public func finish() throws {
        let truncated = isInsideFrame
        reset()
        if truncated {
            throw ZstdError(
                code: .sourceSizeWrong,
                context: "ZstdDecompressor.finish: the input ends inside a frame (truncated)")
        }
    }

    /// Starts over at a frame boundary, keeping the parameters.
    private func reset() {
        // A session-only reset cannot fail, so its result is not checked.
        _ = ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        isInsideFrame = false
    }
}

@available(*, unavailable, message: "a ZstdDecompressor owns a ZSTD_DCtx that one thread at a time may use")
extension ZstdDecompressor: Sendable {}
