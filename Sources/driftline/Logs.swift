import ArgumentParser
import DriftEngine
import Logging

/// `--log-format human|json`, shared by the long-running commands.
struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-format"), help: "Log lines on stderr: human (default) or json.")
    var logFormat: DriftlineLogHandler.Format = .human

    /// Sets up swift-log for the process and returns the command's logger.
    func logger(_ label: String) -> Logger {
        let format = logFormat
        LoggingSystem.bootstrap { DriftlineLogHandler(label: $0, format: format) }
        return Logger(label: label)
    }
}

extension DriftlineLogHandler.Format: ExpressibleByArgument {}
