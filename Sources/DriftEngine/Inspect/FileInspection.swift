#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftKafka
import DriftStats
import Foundation

/// What `driftline inspect` says about a file: its kind, told by its magic bytes (not its
/// name), and what it holds, as a table for people and as one JSON document for programs.
///
/// Kinds: a reference profile (`DRFTPROF`), a checkpoint (`DRFTCKPT`), a snapshot
/// (`DRFTSNAP`, or a snapshot directory), a recording (`DRFTRECD`, zstd-compressed or not).
/// A checkpoint's Kafka properties are never shown: a checkpoint does not hold them, and
/// nothing here reads the config.
public struct FileInspection: Sendable {
    /// `profile`, `checkpoint`, `snapshot`, `snapshots` (a directory) or `recording`.
    public var kind: String
    /// One compact JSON document.
    public var json: String
    /// The human-readable table.
    public var text: String

    /// Inspects a file (or a snapshot directory).
    ///
    /// - Throws: ``FileError`` with a one-line reason naming the file when it cannot be read,
    ///   is not one of Driftline's files, or is damaged.
    public static func inspect(path: String) throws -> FileInspection {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError.errno("cannot open", path) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return snapshotDirectory(path) }
        guard let bytes = readWholeFile(path) else { throw FileError.errno("cannot read", path) }
        if let kind = FileContainer.kind(ofPrefix: bytes) {
            do {
                switch kind {
                case .profile: return profile(path, bytes, try ReferenceProfile(fileBytes: bytes))
                case .checkpoint: return checkpoint(path, bytes, try Checkpoint(fileBytes: bytes))
                case .snapshot: return snapshots(path, "snapshot", [try WindowSnapshot(fileBytes: bytes)], skipped: [], bytes: bytes)
                case .partitionState: return partitionState(path, bytes, try PartitionState(recordBytes: bytes))
                case .partial: return try partial(path, bytes)
                }
            } catch {
                throw FileError("\(path): \(error)")
            }
        }
        if Recording.isRecording(path: path) { return try recording(path, compressed: Zstd.isFrame(bytes.prefix(4)), size: bytes.count) }
        if bytes.isEmpty { throw FileError("\(path): empty file, not a Driftline file") }
        if Zstd.isFrame(bytes.prefix(4)) { throw FileError("\(path): zstd-compressed data that is not a recording (unknown content)") }
        throw FileError("\(path): not a Driftline file (unknown magic bytes)")
    }

    static func version(_ bytes: [UInt8]) -> String {
        let major = UInt16(bytes[8]) | UInt16(bytes[9]) << 8, minor = UInt16(bytes[10]) | UInt16(bytes[11]) << 8
        return "\(major).\(minor)"
    }

    static func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    static func time(_ t: EpochMicroseconds) -> String { TimestampFormat.rfc3339Milliseconds(t) }

    // MARK: - Profile

    static func profile(_ path: String, _ bytes: [UInt8], _ p: ReferenceProfile) -> FileInspection {
        func features(_ m: ModelReference) -> (json: [(String, JSONValue)], rows: [[String]]) {
            var numeric: [JSONValue] = [], categorical: [JSONValue] = [], rows: [[String]] = []
            for (path, s) in zip(p.numericPaths, m.numeric) {
                let mo = s.moments
                numeric.append(.object([
                    ("feature", .string(path)), ("psi_edges", .int(s.psiEdges.values.count)),
                    ("fine_edges", .int(s.fine.edges.values.count)), ("count", .int(s.count)), ("missing", .int(s.missing)),
                    ("mean", .number(mo.mean)), ("std", .number(mo.standardDeviation)), ("min", .number(mo.min)), ("max", .number(mo.max)),
                ]))
                rows.append([
                    path, "numeric", "\(s.psiEdges.values.count)/\(s.fine.edges.values.count)", "\(s.count)", "\(s.missing)",
                    "mean \(num(mo.mean)), std \(num(mo.standardDeviation)), min \(num(mo.min)), max \(num(mo.max))",
                ])
            }
            for (path, c) in zip(p.categoricalPaths, m.categorical) {
                let names = c.dictionary.categories
                let top = names.indices.sorted { c.counts.counts[$0] != c.counts.counts[$1] ? c.counts.counts[$0] > c.counts.counts[$1] : $0 < $1 }.prefix(5)
                let total = c.counts.total
                categorical.append(.object([
                    ("feature", .string(path)), ("categories", .int(names.count)), ("complete", .bool(c.dictionary.isComplete)),
                    ("count", .uint(total)), ("missing", .uint(c.counts.missing)),
                    ("other", .uint(c.counts.counts.last ?? 0)),
                    ("top", .array(top.map { .object([("category", .string(names[$0])), ("count", .uint(c.counts.counts[$0]))]) })),
                ]))
                rows.append([
                    path, "categorical", "\(names.count) categories\(c.dictionary.isComplete ? "" : "+")", "\(total)", "\(c.counts.missing)",
                    "top: " + top.map { "\(names[$0]) \(percent(c.counts.counts[$0], of: total))" }.joined(separator: ", "),
                ])
            }
            return ([("numeric", .array(numeric)), ("categorical", .array(categorical))], rows)
        }
        /// The reference's event times and rate (what `volume_ratio` compares windows with).
        func eventTimes(_ m: ModelReference) -> (json: (String, JSONValue), text: String) {
            guard let t = m.eventTimes else { return (("event_times", .null), "no event times (format 1.0: no volume_ratio)") }
            let rate = t.expectedEvents(in: 1_000_000)
            let json = JSONValue.object([
                ("first", .string(time(t.first))), ("last", .string(time(t.last))), ("events", .int(t.events)),
                ("events_per_second", .number(rate)),
            ])
            return (("event_times", json), "\(time(t.first)) .. \(time(t.last)), \(rate.map { num($0) } ?? "-") events/s")
        }
        let header = ["feature", "kind", "edges (PSI/fine)", "count", "missing", "reference"]
        var text = "reference profile \(path) (format \(version(bytes)), \(bytes.count) bytes, fingerprint \(hex32(p.fingerprint)))\n"
        text += "binning: \(p.binning.psiBins) PSI bins, \(p.binning.ksBins) KS bins, top \(p.binning.topK) categories; model path: \(p.modelPath ?? "- (one model, default)")\n"
        var models: [JSONValue] = []
        for name in p.models.keys.sorted() {
            let m = p.models[name]!
            let f = features(m)
            let times = eventTimes(m)
            models.append(.object([("model", .string(name)), ("events", .int(m.events)), times.json] + f.json))
            text += "\nmodel \(name): \(m.events) events, \(times.text)\n" + table(header, f.rows)
        }
        let pooled = features(p.pooled)
        let pooledTimes = eventTimes(p.pooled)
        text += "\npooled (models the reference never saw): \(p.pooled.events) events, \(pooledTimes.text)\n" + table(header, pooled.rows)
        let json = JSONValue.object([
            ("file", .string(path)), ("kind", .string("profile")), ("format", .string(version(bytes))), ("bytes", .int(bytes.count)),
            ("fingerprint", .string(hex32(p.fingerprint))),
            ("binning", .object([("psi_bins", .int(p.binning.psiBins)), ("ks_bins", .int(p.binning.ksBins)), ("top_k", .int(p.binning.topK))])),
            ("model_path", .string(p.modelPath)),
            ("numeric_features", .array(p.numericPaths.map { .string($0) })),
            ("categorical_features", .array(p.categoricalPaths.map { .string($0) })),
            ("models", .array(models)),
            ("pooled", .object([("events", .int(p.pooled.events)), pooledTimes.json] + pooled.json)),
        ])
        return FileInspection(kind: "profile", json: json.render(), text: text)
    }

    // MARK: - Checkpoint

    static func checkpoint(_ path: String, _ bytes: [UInt8], _ c: Checkpoint) -> FileInspection {
        let names = c.positions.keys.sorted()
        let counters = c.counters.keys.sorted()
        let json = JSONValue.object([
            ("file", .string(path)), ("kind", .string("checkpoint")), ("format", .string(version(bytes))), ("bytes", .int(bytes.count)),
            ("sequence", .uint(c.sequence)), ("profile_fingerprint", .string(hex32(c.profileFingerprint))), ("settings", .string(c.settings)),
            ("partitions", .array(names.map { .object([("partition", .string($0)), ("next_offset", .int(c.positions[$0]!))]) })),
            ("results_length", c.resultsLength.map { .int($0) } ?? .null),
            ("dead_letter_length", c.deadLetterLength.map { .int($0) } ?? .null),
            ("counters", .object(counters.map { ($0, .int(c.counters[$0]!)) })),
            ("aggregates_bytes", .int(c.aggregates.count)),
        ])
        var text = "checkpoint \(path) (format \(version(bytes)), \(bytes.count) bytes)\n"
        text += "sequence \(c.sequence), profile fingerprint \(hex32(c.profileFingerprint)), open aggregates \(c.aggregates.count) bytes\n"
        text += "settings: \(c.settings)\n"
        text += "results file length: \(c.resultsLength.map(String.init) ?? "-"), dead-letter file length: \(c.deadLetterLength.map(String.init) ?? "-")\n"
        text += "\n" + table(["partition", "next offset"], names.map { [$0, "\(c.positions[$0]!)"] })
        if !counters.isEmpty { text += "\n" + table(["counter", "value"], counters.map { [$0, "\(c.counters[$0]!)"] }) }
        return FileInspection(kind: "checkpoint", json: json.render(), text: text)
    }

    // MARK: - Scale-out records

    /// A record of a scaled-out run's state topic (saved from the topic's value).
    static func partitionState(_ path: String, _ bytes: [UInt8], _ p: PartitionState) -> FileInspection {
        let json = JSONValue.object([
            ("file", .string(path)), ("kind", .string("partition_state")), ("format", .string(version(bytes))), ("bytes", .int(bytes.count)),
            ("partition", .string(p.partition)), ("next_offset", .int(p.nextOffset)),
            ("profile_fingerprint", .string(hex32(p.profileFingerprint))), ("settings", .string(p.settings)),
            ("counters", .object([("messages", .int(p.counts.messages)), ("late", .int(p.counts.late)), ("rejected", .int(p.counts.rejected))])),
            ("aggregates_bytes", .int(p.aggregates.count)),
        ])
        var text = "partition state \(path) (format \(version(bytes)), \(bytes.count) bytes)\n"
        text += "partition \(p.partition), next offset \(p.nextOffset), profile fingerprint \(hex32(p.profileFingerprint))\n"
        text += "settings: \(p.settings)\n"
        text += "messages \(p.counts.messages), late \(p.counts.late), rejected \(p.counts.rejected); open aggregates \(p.aggregates.count) bytes\n"
        return FileInspection(kind: "partition_state", json: json.render(), text: text)
    }

    /// A record of a scaled-out run's partials topic (saved from the topic's value). Its window
    /// shares are binned by the reference profile, which is not at hand here: only the header is read.
    static func partial(_ path: String, _ bytes: [UInt8]) throws -> FileInspection {
        let (_, payload) = try FileContainer.decode(.partial, bytes)
        var r = ByteReader(payload)
        let partition: String, watermark: Int64
        do {
            partition = try r.string()
            watermark = try r.i64()
        } catch {
            throw FormatError("partial aggregate: \(error)")
        }
        let mark = watermark == PartialMerger.endOfInput ? "end of input" : time(watermark)
        let json = JSONValue.object([
            ("file", .string(path)), ("kind", .string("partial")), ("format", .string(version(bytes))), ("bytes", .int(bytes.count)),
            ("partition", .string(partition)), ("watermark", .string(mark)),
        ])
        let text = "partial aggregate \(path) (format \(version(bytes)), \(bytes.count) bytes)\npartition \(partition), watermark \(mark)\n"
        return FileInspection(kind: "partial", json: json.render(), text: text)
    }

    // MARK: - Snapshots

    static func snapshotDirectory(_ path: String) -> FileInspection {
        let (found, skipped) = SnapshotReader.read(path)
        return snapshots(path, "snapshots", found, skipped: skipped, bytes: nil)
    }

    static func metricsJSON(_ metrics: FeatureResult.Metrics) -> [(String, JSONValue)] {
        switch metrics {
        case .numeric(let m):
            return [
                ("count", .int(m.count)), ("missing", .int(m.missing)), ("psi", .number(m.psi)), ("ks_statistic", .number(m.ksStatistic)),
                ("ks_error_bound", .number(m.ksErrorBound)), ("ks_pvalue", .number(m.ksPValue)), ("js_distance", .number(m.jsDistance)),
                ("wasserstein", .number(m.wasserstein)), ("wasserstein_error_bound", .number(m.wassersteinErrorBound)),
                ("mean", .number(m.mean)), ("std", .number(m.std)), ("ref_mean", .number(m.referenceMean)), ("ref_std", .number(m.referenceStd)),
                ("mean_shift", .number(m.meanShift)), ("std_ratio", .number(m.stdRatio)),
            ]
        case .categorical(let m):
            return [
                ("count", .int(m.count)), ("missing", .int(m.missing)), ("psi", .number(m.psi)), ("chi2_pvalue", .number(m.chi2PValue)),
                ("js_distance", .number(m.jsDistance)), ("new_category_rate", .number(m.newCategoryRate)),
            ]
        }
    }

    static func snapshots(_ path: String, _ kind: String, _ windows: [WindowSnapshot], skipped: [String], bytes: [UInt8]?) -> FileInspection {
        var text = kind == "snapshot"
            ? "snapshot \(path) (format \(version(bytes!)), \(bytes!.count) bytes)\n"
            : "snapshot directory \(path): \(windows.count) windows, \(skipped.count) files skipped\n"
        for s in skipped { text += "skipped \(s)\n" }
        var jsonWindows: [JSONValue] = []
        for w in windows {
            let drifted = w.features.filter(\.drift).count
            text += "\n\(time(w.start)) .. \(time(w.end))  model \(w.model): \(w.events) events, \(drifted)/\(w.features.count) features drifted (profile \(hex32(w.profileFingerprint)))\n"
            var rows: [[String]] = []
            var features: [JSONValue] = []
            for f in w.features {
                var fields: [(String, JSONValue)] = [("feature", .string(f.feature)), ("kind", .string(f.kind)), ("drift", .bool(f.drift))]
                fields += metricsJSON(f.metrics)
                switch f.distribution {
                case .numeric(let summary, _):
                    fields.append(("psi_edges", .numbers(summary.psiEdges.values)))
                    fields.append(("fine_bins", .int(summary.fine.edges.binCount)))
                case .categorical(let counts, _, let categories):
                    fields.append(("categories", .array((categories + [CategoryDictionary.otherName]).map { .string($0) })))
                    fields.append(("unseen", .uint(counts.unseen)))
                }
                fields.append(("reference_proportions", .numbers(f.referenceProportions)))
                fields.append(("window_proportions", .numbers(f.windowProportions)))
                features.append(.object(fields))
                switch f.metrics {
                case .numeric(let m):
                    rows.append([
                        f.feature, "numeric", f.drift ? "yes" : "", "\(m.count)", num(m.psi), "ks \(num(m.ksStatistic)) p \(num(m.ksPValue))",
                        "js \(num(m.jsDistance))", "mean \(num(m.mean)) (ref \(num(m.referenceMean)))",
                    ])
                case .categorical(let m):
                    rows.append([
                        f.feature, "categorical", f.drift ? "yes" : "", "\(m.count)", num(m.psi), "chi2 p \(num(m.chi2PValue))",
                        "js \(num(m.jsDistance))", "new \(num(m.newCategoryRate))",
                    ])
                }
            }
            text += table(["feature", "kind", "drift", "count", "psi", "test", "js", ""], rows)
            jsonWindows.append(.object([
                ("model", .string(w.model)), ("window_start", .string(time(w.start))), ("window_end", .string(time(w.end))),
                ("window_start_us", .int(w.start)), ("window_end_us", .int(w.end)), ("events", .int(w.events)),
                ("profile_fingerprint", .string(hex32(w.profileFingerprint))), ("drifted_features", .int(drifted)),
                ("drift_share", .number(w.driftShare)), ("drift", .bool(drifted > 0)), ("features", .array(features)),
            ]))
        }
        var top: [(String, JSONValue)] = [("file", .string(path)), ("kind", .string(kind))]
        if let bytes { top += [("format", .string(version(bytes))), ("bytes", .int(bytes.count))] }
        top += [("windows", .array(jsonWindows)), ("skipped", .array(skipped.map { .string($0) }))]
        return FileInspection(kind: kind, json: JSONValue.object(top).render(), text: text)
    }

    // MARK: - Recording

    struct PartitionTally {
        var messages: Int64 = 0
        var firstOffset = Int64.max, lastOffset = Int64.min
        var firstTimestamp: Int64?, lastTimestamp: Int64?
    }

    static func recording(_ path: String, compressed: Bool, size: Int) throws -> FileInspection {
        let reader = try RecordingReader(path: path)
        var partitions: [TopicPartition: PartitionTally] = [:]
        var assignments = 0, messages: Int64 = 0
        var endCount: UInt64?
        while try reader.read({ entry in
            switch entry {
            case .message(let m):
                messages += 1
                var t = partitions[m.topicPartition] ?? PartitionTally()
                t.messages += 1
                t.firstOffset = min(t.firstOffset, m.offset)
                t.lastOffset = max(t.lastOffset, m.offset)
                if let ts = m.timestamp {
                    t.firstTimestamp = min(t.firstTimestamp ?? ts, ts)
                    t.lastTimestamp = max(t.lastTimestamp ?? ts, ts)
                }
                partitions[m.topicPartition] = t
            case .assignment:
                assignments += 1
            case .end(let n):
                endCount = n
            }
        }) {}
        let order = partitions.keys.sorted { $0.topic != $1.topic ? $0.topic < $1.topic : $0.partition < $1.partition }
        let first = partitions.values.compactMap(\.firstTimestamp).min(), last = partitions.values.compactMap(\.lastTimestamp).max()
        func ms(_ t: Int64?) -> JSONValue { t.map { .string(time($0 * 1000)) } ?? .null }
        let json = JSONValue.object([
            ("file", .string(path)), ("kind", .string("recording")), ("bytes", .int(size)), ("compressed", .bool(compressed)),
            ("messages", .int(messages)), ("assignments", .int(assignments)),
            ("ended_cleanly", .bool(reader.endedCleanly)), ("truncated", .bool(reader.truncated)),
            ("end_entry_messages", endCount.map { .uint($0) } ?? .null),
            ("first_timestamp", ms(first)), ("last_timestamp", ms(last)),
            ("partitions", .array(order.map { tp in
                let t = partitions[tp]!
                return .object([
                    ("topic", .string(tp.topic)), ("partition", .int(Int(tp.partition))), ("messages", .int(t.messages)),
                    ("first_offset", .int(t.firstOffset)), ("last_offset", .int(t.lastOffset)),
                    ("first_timestamp", ms(t.firstTimestamp)), ("last_timestamp", ms(t.lastTimestamp)),
                ])
            })),
        ])
        var text = "recording \(path) (\(compressed ? "zstd-compressed, " : "")\(size) bytes)\n"
        text += "\(messages) messages in \(partitions.count) partitions, \(assignments) assignments; "
        text += reader.endedCleanly ? "ended cleanly\n" : "did not end cleanly (the recorder was stopped abruptly; its complete entries are listed)\n"
        if let first, let last { text += "timestamps \(time(first * 1000)) .. \(time(last * 1000))\n" }
        text += "\n" + table(
            ["partition", "messages", "offsets", "timestamps"],
            order.map { tp in
                let t = partitions[tp]!
                let times = t.firstTimestamp.map { "\(time($0 * 1000)) .. \(time(t.lastTimestamp! * 1000))" } ?? "-"
                return ["\(tp.topic)/\(tp.partition)", "\(t.messages)", "\(t.firstOffset) .. \(t.lastOffset)", times]
            })
        return FileInspection(kind: "recording", json: json.render(), text: text)
    }

    // MARK: - Text helpers

    /// Columns padded to their widest cell, two spaces apart.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, cell) in cells.enumerated() {
                s += i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            while s.hasSuffix(" ") { s.removeLast() }
            return s + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    static func num(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "-" }
        return String(format: "%.4g", x)
    }

    static func percent(_ n: UInt64, of total: UInt64) -> String {
        total == 0 ? "-" : String(format: "%.1f%%", Double(n) / Double(total) * 100)
    }
}
