import ArgumentParser
import DriftEngine

/// The `driftline` command: streaming data-drift and model monitoring.
@main
struct Driftline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "driftline",
        abstract: "Streaming data-drift and model monitoring for Kafka event streams.",
        discussion: """
            Driftline keeps event-time windowed statistics per model and feature \
            (PSI, Kolmogorov-Smirnov, Jensen-Shannon, Wasserstein, chi-square, moments), \
            compares every window with a reference profile, and emits alerts and \
            zstd-compressed snapshots.
            """,
        version: BuildInfo.versionDescription,
        subcommands: [ProfileCommand.self, ReplayCommand.self, RunCommand.self, RecordCommand.self, BrokerCommand.self, DemoCommand.self, ReportCommand.self, InspectCommand.self]
    )
}
