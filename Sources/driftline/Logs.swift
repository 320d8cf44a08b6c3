import ArgumentParser
import DriftEngine
import Logging

/// `--log-format human|json`, shared by the commands that run for a while (profile, replay,
/// run, record, demo).
struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-format"), help: "Log lines on stderr: human (default) or json.")
    var logFormat: DriftlineLogHandler.Format = .human

    /// Sets up swift-log for the process and returns the command's logger.
    func logger(_ label: String) -> Logger {
        let format = logFormat
        LoggingSystem.bootstrap { DriftlineLogHandler(label: $0, format: format) }
        return Logger(label: label)
    }

    /// A command's closing lines: as they are for people, one info message in a JSON log, so
    /// that every line a JSON log writes on stderr parses as JSON.
    func report(_ text: String, to logger: Logger) {
        switch logFormat {
        case .human: Terminal.print(text)
        case .json: logger.info("\(text)")
        }
    }
}

extension DriftlineLogHandler.Format: ExpressibleByArgument {}
