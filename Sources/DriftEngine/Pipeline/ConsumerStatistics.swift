import DriftKafka
import Logging
import Foundation

/// Reads what Driftline uses from librdkafka's statistics JSON (`statistics.interval.ms`).
enum ConsumerStatistics {
    /// `consumer_lag` of every assigned partition, keyed `topic/partition`; `nil` when the
    /// JSON cannot be read. Partitions librdkafka reports with lag -1 (unknown yet) and its
    /// internal partition -1 are left out.
    static func lag(_ json: String) -> [String: Int64]? {
        guard let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let topics = root["topics"] as? [String: Any]
        else { return nil }
        var lag: [String: Int64] = [:]
        for (topic, value) in topics {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (partition, stats) in partitions {
                guard let p = Int(partition), p >= 0, let stats = stats as? [String: Any],
                      let l = (stats["consumer_lag"] as? NSNumber)?.int64Value, l >= 0
                else { continue }
                lag["\(topic)/\(p)"] = l
            }
        }
        return lag
    }
}

/// librdkafka reports a broker that is down again on every retry: the log gets the first
/// error and then at most one line per 5 seconds (the errors are counted either way).
struct KafkaErrorNotices {
    let clock = ContinuousClock()
    var last: ContinuousClock.Instant?

    mutating func report(_ error: KafkaError, to logger: Logger) {
        let now = clock.now
        if let last, now - last <= .seconds(5) { return }
        last = now
        logger.warning("kafka: \(error)")
    }
}

extension KafkaConsumer {
    /// Leaves the group after a failure without running the rebalance callbacks: they hold a
    /// session that is going away, whose state in memory may be ahead of what it saved.
    func abandon() {
        onAssign = nil
        onRevoke = nil
        onStatistics = nil
        try? close()
    }

    /// Runs a session's poll loop; when it throws, leaves the group with ``abandon()`` (the
    /// callbacks hold the session unowned, and closing with them attached once it is gone
    /// crashed) and rethrows.
    func consumeOrAbandon(_ loop: (KafkaConsumer) throws -> Void) throws {
        do {
            try loop(self)
        } catch {
            abandon()
            throw error
        }
    }
}
