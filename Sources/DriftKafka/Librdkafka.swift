/// The librdkafka library this process is linked against.
///
/// The version is read at run time, so it reports the shared library actually loaded rather than
/// the header Driftline was compiled with.
public enum Librdkafka {
    /// The version as librdkafka prints it, for example `2.0.2`.
    ///
    /// The corresponding C function is `rd_kafka_version_str`.
    public static var version: String {
        RDKafka.versionString()
    }

    /// The version as librdkafka's packed integer `0xMMmmrrpp`: major, minor, revision and
    /// pre-release id, where a pre-release id of `0xff` means a final release.
    ///
    /// The corresponding C function is `rd_kafka_version`.
    public static var versionNumber: Int {
        RDKafka.versionNumber()
    }

    /// The major, minor and revision parts of ``versionNumber``.
    public static var versionComponents: (major: Int, minor: Int, revision: Int) {
        let packed = versionNumber
        return ((packed >> 24) & 0xff, (packed >> 16) & 0xff, (packed >> 8) & 0xff)
    }
}
