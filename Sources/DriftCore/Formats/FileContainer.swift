import DriftStats

/// The envelope of Driftline's state files (profiles, snapshots, checkpoints) and of the
/// state and partial-aggregate records of a scaled-out run.
///
/// Layout (little-endian):
/// ```
/// magic        8 bytes   "DRFTPROF", "DRFTSNAP", "DRFTCKPT", "DRFTPSTA", "DRFTPART"
/// major        u16       readers refuse a newer major version
/// minor        u16       additions that older readers may ignore
/// length       u64       payload bytes, uncompressed
/// payload CRC  u32       CRC-32C of the uncompressed payload
/// header CRC   u32       CRC-32C of the 24 bytes above
/// zstd frame             the payload, compressed
/// ```
/// A reader checks the magic, the version, both checksums and the length, so a
/// truncated, corrupted or foreign file is refused with a reason and never
/// half-loaded.
public enum FileContainer {
    public enum Kind: String, Sendable, CaseIterable {
        case profile = "DRFTPROF"
        case snapshot = "DRFTSNAP"
        case checkpoint = "DRFTCKPT"
        /// A partition's state in a scaled-out run's state topic.
        case partitionState = "DRFTPSTA"
        /// A partition's partial aggregates for the evaluator of a scaled-out run.
        case partial = "DRFTPART"

        var magic: [UInt8] { Array(rawValue.utf8) }

        /// The minor version this build writes for the kind; it reads every minor of
        /// ``FileContainer/majorVersion``, ignoring what a newer minor adds at the end.
        ///
        /// Profiles: 1.1 adds the reference's event times (for the event-volume metric).
        public var minorVersion: UInt16 {
            switch self {
            case .profile: 1
            case .snapshot, .checkpoint, .partitionState, .partial: 0
            }
        }

        /// What a person calls it, for messages.
        public var noun: String {
            switch self {
            case .profile: "reference profile"
            case .snapshot: "snapshot"
            case .checkpoint: "checkpoint"
            case .partitionState: "partition state"
            case .partial: "partial aggregate"
            }
        }
    }

    /// The format version this build writes; it reads every minor of this major (minors are
    /// per kind: ``Kind/minorVersion``).
    public static let majorVersion: UInt16 = 1
    static let headerSize = 28

    /// Wraps a payload.
    public static func encode(_ kind: Kind, payload: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.raw(kind.magic)
        withUnsafeBytes(of: majorVersion.littleEndian) { w.raw($0) }
        withUnsafeBytes(of: kind.minorVersion.littleEndian) { w.raw($0) }
        w.u64(UInt64(payload.count))
        w.u32(CRC32C.checksum(payload))
        w.u32(CRC32C.checksum(w.bytes))
        var out = w.bytes
        out.append(contentsOf: try Zstd.compress(payload, level: Int(level)))
        return out
    }

    /// The kind of a file from its first bytes, if it is one of Driftline's containers.
    public static func kind(ofPrefix prefix: some Collection<UInt8>) -> Kind? {
        let head = Array(prefix.prefix(8))
        return Kind.allCases.first { $0.magic == head }
    }

    /// A header's fields, for `inspect`.
    public struct Header: Sendable, Hashable {
        public var kind: Kind
        public var major: UInt16
        public var minor: UInt16
        public var payloadLength: UInt64
    }

    /// Unwraps a payload.
    ///
    /// - Throws: ``FormatError`` saying what is wrong: not this kind of file, a newer
    ///   major version, a bad checksum, truncation.
    public static func decode(_ kind: Kind, _ bytes: [UInt8]) throws(FormatError) -> (Header, [UInt8]) {
        guard bytes.count >= headerSize else {
            throw FormatError(bytes.isEmpty ? "empty file, not a \(kind.noun)" : "too short to be a \(kind.noun) (\(bytes.count) bytes)")
        }
        guard Array(bytes[0..<8]) == kind.magic else {
            if let other = FileContainer.kind(ofPrefix: bytes) {
                throw FormatError("this is a \(other.noun), not a \(kind.noun)")
            }
            throw FormatError("not a \(kind.noun) (unknown magic bytes)")
        }
        let major = UInt16(bytes[8]) | UInt16(bytes[9]) << 8
        let minor = UInt16(bytes[10]) | UInt16(bytes[11]) << 8
        var r = ByteReader(Array(bytes[12..<headerSize]))
        let length: UInt64, payloadCRC: UInt32, headerCRC: UInt32
        do {
            length = try r.u64()
            payloadCRC = try r.u32()
            headerCRC = try r.u32()
        } catch {
            throw FormatError("truncated header")
        }
        guard CRC32C.checksum(Array(bytes[0..<(headerSize - 4)])) == headerCRC else {
            throw FormatError("header checksum mismatch (corrupt \(kind.noun))")
        }
        guard major <= majorVersion else {
            throw FormatError("\(kind.noun) format \(major).\(minor) is newer than this driftline reads (\(majorVersion).x): upgrade driftline")
        }
        let payload: [UInt8]
        do {
            payload = try Zstd.decompress(Array(bytes[headerSize...]))
        } catch {
            throw FormatError("compressed payload is damaged or truncated (\(error))")
        }
        guard UInt64(payload.count) == length else {
            throw FormatError("payload is \(payload.count) bytes, header says \(length) (truncated \(kind.noun))")
        }
        guard CRC32C.checksum(payload) == payloadCRC else {
            throw FormatError("payload checksum mismatch (corrupt \(kind.noun))")
        }
        return (Header(kind: kind, major: major, minor: minor, payloadLength: length), payload)
    }
}

/// A file that is not a valid Driftline state file.
public struct FormatError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
