#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing

/// The `driftline` executable built next to the test bundle.
enum DriftlineBinary {
    static var path: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("driftline").path
    }

    /// - Parameter log: A file for the process's standard error (discarded when `nil`).
    static func spawn(_ arguments: [String], log: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }

    /// Runs `driftline` to its end and returns its exit status, standard output and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both to the end before waiting, so a full pipe cannot stall the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var stdout = Data()
        DispatchQueue.global().async(group: group) { stdout = out.fileHandleForReading.readDataToEndOfFile() }
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

/// A `driftline` process whose standard output and error are collected as they come.
///
/// With `fileSizeLimit`, it starts under that soft `RLIMIT_FSIZE` (bytes) with SIGXFSZ
/// ignored, so writing a regular file past the limit fails with EFBIG, as on a full disk;
/// pipes are not limited, which is why the output is collected through them.
final class DriftlineChild: @unchecked Sendable {
    // Safe: `process` is only read after `init`; the collected bytes sit behind a Mutex.
    let process = Process()
    let collected = Mutex<(stdout: [UInt8], stderr: [UInt8])>(([], []))
    let readers = DispatchGroup()

    init(_ arguments: [String], environment: [String: String] = [:], fileSizeLimit: Int? = nil) throws {
        if let fileSizeLimit {
            // The shell sets the limit and the ignored disposition, both kept across exec.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", #"trap "" XFSZ; ulimit -S -f \#(fileSizeLimit / 512); exec "$0" "$@""#, DriftlineBinary.path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: DriftlineBinary.path)
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        for (pipe, isOut) in [(out, true), (err, false)] {
            let handle = pipe.fileHandleForReading
            readers.enter()
            Thread.detachNewThread { [self] in
                while case let data = handle.availableData, !data.isEmpty {
                    collected.withLock { isOut ? $0.stdout.append(contentsOf: data) : $0.stderr.append(contentsOf: data) }
                }
                readers.leave()
            }
        }
    }

    var pid: pid_t { process.processIdentifier }
    var stdout: String { collected.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    var stderr: String { collected.withLock { String(decoding: $0.stderr, as: UTF8.self) } }

    /// Waits for the exit and for the last output.
    func wait() {
        process.waitUntilExit()
        readers.wait()
    }

    /// Polls `condition` every 10 ms for up to `seconds`.
    @discardableResult
    func wait(upTo seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Raises the soft file-size limit of the running process (the disk has room again).
    func liftFileSizeLimit() -> Bool {
        // prlimit(2) is a GNU extension the Glibc module does not import.
        typealias PRLimit = @convention(c) (pid_t, Int32, UnsafePointer<rlimit>?, UnsafeMutablePointer<rlimit>?) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prlimit") else { return false }
        let prlimit = unsafeBitCast(symbol, to: PRLimit.self)
        let resource = Int32(RLIMIT_FSIZE.rawValue)
        var limit = rlimit()
        guard prlimit(pid, resource, nil, &limit) == 0 else { return false }
        limit.rlim_cur = limit.rlim_max
        return prlimit(pid, resource, &limit, nil) == 0
    }
}

/// A port nothing listens on right now (the kernel's pick, released at once).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    try #require(bound)
    return Int(UInt16(bigEndian: a.sin_port))
}

struct HTTPGetError: Error {
    var reason: String
}

/// A plain HTTP/1.1 request over a socket to 127.0.0.1: (status code, body).
func httpGet(_ port: Int, _ path: String, method: String = "GET") throws -> (Int, String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = UInt16(port).bigEndian
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw HTTPGetError(reason: "cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response.append(contentsOf: chunk[0..<n])
    }
    let text = String(decoding: response, as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    return (status, body)
}
