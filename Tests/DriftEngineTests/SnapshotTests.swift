import DriftCore
import DriftEngine
import DriftStats
import Foundation
import Testing

/// Builds the example profile and replays the example stream with `--snapshots`, keeping
/// every closed window the replay handed out.
struct SnapshotRun {
    let config: DriftlineConfig
    let profile: ReferenceProfile
    let directory: String
    let windows: [ClosedWindow]
    let writer: SnapshotWriter

    static func make(scratch: ScratchDirectory) throws -> SnapshotRun {
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        let profilePath = scratch.file("reference.drp")
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: profilePath)
        config.reference.profile = profilePath
        let profile = try #require(try config.loadProfile())
        let directory = scratch.file("snapshots")
        let writer = try SnapshotWriter(directory: directory, config: config, profile: profile)
        var windows: [ClosedWindow] = []
        var options = Replay.Options()
        options.onWindow = { windows.append($0) }
        options.onWindow = writer.hook(after: options.onWindow)
        _ = try Replay(config: config, profile: profile).run(inputs: [Fixture.path("traffic/stream.ndjson.zst")], options: options)
        try writer.close()
        return SnapshotRun(config: config, profile: profile, directory: directory, windows: windows, writer: writer)
    }

    /// Where the snapshot of a window is expected: `DIR/YYYY-MM-DD/<start>_<end>_<model>.drs`.
    func path(of w: ClosedWindow) -> String {
        func compact(_ t: EpochMicroseconds) -> String {
            let text = TimestampFormat.rfc3339Milliseconds(t).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            return text.dropLast() + "000Z"
        }
        return "\(directory)/\(TimestampFormat.rfc3339Milliseconds(w.start).prefix(10))/\(compact(w.start))_\(compact(w.end))_\(w.model).drs"
    }

    /// Snapshot files under the directory, sorted.
    func files() throws -> [String] {
        let e = try #require(FileManager.default.enumerator(atPath: directory))
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".drs") }.sorted().map { directory + "/" + $0 }
    }
}

func fileMode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as! NSNumber).intValue & 0o777
}

@Suite(.serialized) struct SnapshotStoreTests {
    let scratch: ScratchDirectory
    let run: SnapshotRun

    init() throws {
        scratch = try ScratchDirectory()
        run = try SnapshotRun.make(scratch: scratch)
    }

    @Test func everyClosedWindowReadsBackWithIdenticalMetricsAndSummaries() throws {
        #expect(run.windows.count >= 20)
        let (snapshots, skipped) = SnapshotReader.read(run.directory)
        #expect(skipped.isEmpty)
        try #require(snapshots.count == run.windows.count)
        let schema = run.config.input
        for (w, s) in zip(run.windows, snapshots) {
            #expect(s.model == w.model && s.start == w.start && s.end == w.end && s.events == w.events)
            #expect(s.profileFingerprint == run.profile.fingerprint)
            #expect(s.features.map(\.feature) == w.results.map(\.feature))
            for (r, f) in zip(w.results, s.features) {
                #expect(f.metrics == r.metrics, "\(w.start) \(r.feature)")
                #expect(f.drift == r.drift)
                let reference = run.profile.selecting(schema: schema).reference(forModel: w.model)
                switch f.distribution {
                case .numeric(let summary, let ref):
                    let i = try #require(schema.numeric.firstIndex(of: f.feature))
                    #expect(summary == w.numeric[i])
                    #expect(ref.counts == reference.numeric[i].psiCounts)
                    #expect(summary.psiEdges == reference.numeric[i].psiEdges)
                    // The metrics recomputed from the snapshot's window summary are the stored ones.
                    #expect(f.metrics == .numeric(NumericDriftMetrics(reference: reference.numeric[i], window: summary)))
                case .categorical(let counts, let ref, let categories):
                    let i = try #require(schema.categorical.firstIndex(of: f.feature))
                    #expect(counts == w.categorical[i])
                    #expect(ref == reference.categorical[i].counts)
                    #expect(categories == reference.categorical[i].dictionary.categories)
                    #expect(f.binLabels.last == "__other__")
                }
                let p = f.referenceProportions, q = f.windowProportions
                #expect(p.count == q.count && p.count == f.binLabels.count)
                #expect(abs(p.reduce(0, +) - 1) < 1e-9)
            }
            #expect(s == run.writer.snapshot(of: w))
        }
        #expect(snapshots.contains { $0.features.contains(where: \.drift) })
    }

    @Test func oneFilePerWindowInADayDirectoryAndRewritingGivesTheSameBytes() throws {
        let files = try run.files()
        #expect(files.count == run.windows.count)
        let expected = run.windows.map(run.path(of:))
        #expect(files == expected.sorted())
        // A live run that recomputes windows after a restart writes them again: same files, same bytes.
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let again = try SnapshotWriter(directory: run.directory, profile: run.profile, schema: run.config.input)
        #expect(try run.windows.map { try again.write($0) } == expected)
        #expect(try run.files() == files)
        #expect(try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)
        // Nothing but snapshots is left (no temporary files).
        let all = try #require(FileManager.default.enumerator(atPath: run.directory)).compactMap { $0 as? String }
        #expect(!all.contains { $0.contains(".tmp-") })
    }

    @Test func filesAre0600InDirectoriesThatAre0700() throws {
        #expect(try fileMode(run.directory) == 0o700)
        let files = try run.files()
        for dir in Set(files.map { ($0 as NSString).deletingLastPathComponent }) {
            #expect(try fileMode(dir) == 0o700, "\(dir)")
        }
        for f in files { #expect(try fileMode(f) == 0o600, "\(f)") }
    }

    @Test func truncatedCorruptEmptyAndNewerFilesAreSkippedByNameWhileTheOthersLoad() throws {
        let files = try run.files()
        try #require(files.count >= 8)
        let truncated = files[1], corrupt = files[3], empty = files[5], newer = files[7]
        let whole = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corrupt)))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        try Data().write(to: URL(fileURLWithPath: empty))
        var newerBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newer)))
        newerBytes[8] = 2  // major version 2
        newerBytes[9] = 0
        let crc = CRC32C.checksum(Array(newerBytes[0..<24]))
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { newerBytes[24 + i] = $0[i] } }
        try Data(newerBytes).write(to: URL(fileURLWithPath: newer))
        // A file that is not a snapshot at all, and a leftover temporary file (ignored by name).
        try Data("not a snapshot".utf8).write(to: URL(fileURLWithPath: run.directory + "/stray.drs"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: files[0] + ".tmp-12345"))

        let (snapshots, skipped) = SnapshotReader.read(run.directory)
        #expect(snapshots.count == run.windows.count - 4)
        #expect(skipped.count == 5)
        func reason(_ path: String) -> String? {
            skipped.first { $0.hasPrefix(path + ": ") }.map { String($0.dropFirst(path.count + 2)) }
        }
        #expect(reason(truncated)?.contains("truncated") == true, "\(reason(truncated) ?? "not reported")")
        #expect(reason(corrupt) != nil)
        #expect(reason(empty) == "empty file, not a snapshot")
        #expect(reason(newer) == "snapshot format 2.0 is newer than this driftline reads (1.x): upgrade driftline")
        #expect(reason(run.directory + "/stray.drs") == "too short to be a snapshot (14 bytes)")
        let damaged = Set([truncated, corrupt, empty, newer])
        let intact = run.windows.filter { !damaged.contains(run.path(of: $0)) }.map(run.writer.snapshot(of:))
        #expect(snapshots == intact)

        // One file read on its own: refused the same way.
        let single = SnapshotReader.read(newer)
        #expect(single.snapshots.isEmpty)
        #expect(single.skipped == ["\(newer): snapshot format 2.0 is newer than this driftline reads (1.x): upgrade driftline"])
        let missing = SnapshotReader.read(run.directory + "/nothing-here")
        #expect(missing.snapshots.isEmpty && missing.skipped.count == 1 && missing.skipped[0].hasPrefix(run.directory + "/nothing-here: "))
    }

    @Test func aTimeRangeSelectsWindowsByTheirEnd() throws {
        let ends = run.windows.map(\.end)
        let from = ends[4], to = ends[9]
        let (snapshots, skipped) = SnapshotReader.read(run.directory, from: from, to: to)
        #expect(skipped.isEmpty)
        #expect(snapshots.map(\.end) == ends.filter { $0 >= from && $0 <= to })
        #expect(SnapshotReader.read(run.directory, from: ends.last! + 1).snapshots.isEmpty)
        #expect(SnapshotReader.read(run.directory, to: ends[0]).snapshots.count == ends.filter { $0 == ends[0] }.count)
    }

    @Test func aStreamReferenceIsRefusedWithAReason() throws {
        var config = run.config
        config.reference.profile = nil
        let error = try #require(throws: ConfigError.self) {
            _ = try SnapshotWriter(directory: scratch.file("other"), config: config, profile: nil)
        }
        #expect(error.message.contains("snapshots (--snapshots, --snapshots-topic) need `reference.profile`"))
    }
}
