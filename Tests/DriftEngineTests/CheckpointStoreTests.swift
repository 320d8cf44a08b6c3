import DriftEngine
import Foundation
import Testing

@Suite struct CheckpointStoreTests {
    func checkpoint(_ sequence: UInt64) -> Checkpoint {
        Checkpoint(
            sequence: sequence, profileFingerprint: 7, settings: "s", positions: ["t/0": Int64(sequence) * 10],
            aggregates: Array(repeating: UInt8(sequence), count: 1000), resultsLength: 5, deadLetterLength: nil,
            counters: ["messages": Int64(sequence)])
    }

    @Test func damagedNewestCheckpointsFallBackToThePreviousValidOne() throws {
        let scratch = try ScratchDirectory()
        let store = try CheckpointStore(directory: scratch.file("state"))
        try store.write(checkpoint(1))
        try store.write(checkpoint(2))
        #expect(store.files().map(\.sequence) == [2, 1])
        let newest = store.files()[0].path
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
        for damage in ["truncated", "corrupted", "empty"] {
            var bytes = original
            switch damage {
            case "truncated": bytes = Array(bytes.prefix(bytes.count / 2))
            case "corrupted": bytes[bytes.count - 3] ^= 0x10
            default: bytes = []
            }
            // Damage the newest file; the older one (sequence 1) stays good.
            try Data(bytes).write(to: URL(fileURLWithPath: newest))
            let loaded = store.loadNewest()
            #expect(loaded.checkpoint == checkpoint(1), "\(damage)")
            #expect(loaded.skipped.count == 1 && loaded.skipped[0].contains(newest), "\(damage): \(loaded.skipped)")
        }
    }

    @Test func filesAre0600InA0700DirectoryAndOnlyTheNewestTwoAreKept() throws {
        let scratch = try ScratchDirectory()
        let store = try CheckpointStore(directory: scratch.file("a/b/state"))
        for s in 1...5 { try store.write(checkpoint(UInt64(s))) }
        #expect(store.files().map(\.sequence) == [5, 4])
        let dirMode = try FileManager.default.attributesOfItem(atPath: scratch.file("a/b/state"))[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        for f in store.files() {
            #expect(try FileManager.default.attributesOfItem(atPath: f.path)[.posixPermissions] as? Int == 0o600)
        }
        #expect(store.loadNewest().checkpoint == checkpoint(5))
    }

    @Test func anUnwritableDirectoryFailsWithItsNameAndLeavesNothingVisible() throws {
        let scratch = try ScratchDirectory()
        let store = try CheckpointStore(directory: scratch.file("state"))
        try store.write(checkpoint(1))
        // The directory disappears and a file takes its place (permissions do not stop root).
        try FileManager.default.removeItem(atPath: scratch.file("state"))
        try Data().write(to: URL(fileURLWithPath: scratch.file("state")))
        let error = try #require(throws: FileError.self) { try store.write(self.checkpoint(2)) }
        #expect(error.message.contains(scratch.file("state")))
        try FileManager.default.removeItem(atPath: scratch.file("state"))
        try FileManager.default.createDirectory(atPath: scratch.file("state"), withIntermediateDirectories: false)
        try store.write(checkpoint(3))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("state")) == ["checkpoint-000000000003.drc"])
    }
}
