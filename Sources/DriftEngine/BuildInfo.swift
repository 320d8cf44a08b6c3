import DriftCore
import DriftKafka

/// What this build of Driftline is made of, for `driftline --version` and logs.
public enum BuildInfo {
    /// Driftline's own version.
    public static let version = "0.1.0"

    /// One line per component: Driftline, and the C libraries it runs on.
    public static var versionDescription: String {
        """
        driftline \(version)
        librdkafka \(Librdkafka.version)
        zstd \(Zstd.libraryVersion)
        """
    }
}
