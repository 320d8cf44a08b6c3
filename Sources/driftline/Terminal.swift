#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import DriftCore
import DriftEngine

/// Standard error helpers: one-line failures, and progress only on a terminal.
enum Terminal {
    static var stderrIsTerminal: Bool { isatty(2) == 1 }
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// One line on stderr, without the config's secrets (``SecretRedaction``), as every
    /// line below.
    static func error(_ message: String) {
        var line = SecretRedaction.redact("driftline: " + message.split(separator: "\n").joined(separator: "; ")) + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func print(_ s: String) {
        var line = SecretRedaction.redact(s) + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// Runs a command body, turning every error into a one-line message and an exit code
    /// (2 for `--strict` stops, 1 otherwise).
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let stop as StrictModeStop {
            error(stop.description)
            throw ExitCode(2)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            self.error(String(describing: error))
            throw ExitCode(1)
        }
    }
}

/// A progress line on stderr (bytes, events/s, ETA), redrawn at most 10 times a second.
final class ProgressBar {
    let enabled: Bool
    let clock = ContinuousClock()
    let started: ContinuousClock.Instant
    var lastDraw: ContinuousClock.Instant

    init(enabled: Bool) {
        self.enabled = enabled
        started = clock.now
        lastDraw = started
    }

    func update(_ done: Int64, _ total: Int64, _ events: Int64) {
        guard enabled else { return }
        let now = clock.now
        guard now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        let elapsed = Double((now - started).components.seconds) + Double((now - started).components.attoseconds) / 1e18
        let rate = elapsed > 0 ? Double(events) / elapsed : 0
        var line = "\r"
        if total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += "\(Int(fraction * 100))% "
            if fraction > 0 && fraction < 1 {
                line += "ETA \(Int(elapsed / fraction - elapsed))s "
            }
        }
        line += "\(done / 1_000_000) MB  \(Int(rate)) events/s   "
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    func finish() {
        guard enabled else { return }
        var clear = "\r" + String(repeating: " ", count: 79) + "\r"
        clear.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

/// One line of status on a terminal, redrawn in place.
final class StatusLine {
    func show(_ text: String) {
        var line = "\r" + text.padding(79) + "\r"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    func clear() {
        show("")
    }
}
