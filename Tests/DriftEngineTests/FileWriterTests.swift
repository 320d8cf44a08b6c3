#if canImport(Glibc)
import Glibc
#endif
@testable import DriftEngine
import Testing

@Suite struct FileWriterTests {
    /// A file that takes only part of a write, as a disk filling up does: what reached it is
    /// counted and leaves the buffer, the rest is written by the next flush, so the file ends
    /// up with every byte exactly once. A non-blocking pipe plays the disk: it takes what fits
    /// in its buffer, then refuses with EAGAIN until it is read.
    @Test func writesTheFileTakesOnlyInPartAreResumedWithoutRepeatingOrLosingBytes() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let writer = try FileWriter(path: "/proc/self/fd/\(ends[1])")
        close(ends[1])
        _ = fcntl(writer.fd, F_SETFL, fcntl(writer.fd, F_GETFL) | O_NONBLOCK)
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        var received: [UInt8] = []
        func drain() {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while Int64(received.count) < writer.bytesWritten {
                let n = chunk.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, min($0.count, Int(writer.bytesWritten) - received.count)) }
                guard n > 0 else { return }
                received.append(contentsOf: chunk[0..<n])
            }
        }
        // A large block goes straight to the file; the pipe takes part of it.
        #expect(throws: FileError.self) { try writer.write(payload) }
        #expect(writer.bytesWritten > 0 && writer.bytesWritten < Int64(payload.count))
        var refusals = 1
        while true {
            drain()
            do {
                try writer.flush()
                break
            } catch {
                refusals += 1
            }
        }
        drain()
        #expect(refusals >= 2, "the pipe refused more than once")
        #expect(writer.bytesWritten == Int64(payload.count))
        #expect(received == payload)
    }
}
