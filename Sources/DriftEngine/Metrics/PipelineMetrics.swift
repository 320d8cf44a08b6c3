import CoreMetrics
import DriftCore
import Prometheus
import Synchronization

/// Driftline's Prometheus metrics, recorded through swift-metrics into a swift-prometheus
/// registry owned by this object (no process-wide bootstrap, so several pipelines and tests
/// can each keep their own).
///
/// Per-feature drift gauges are kept for at most ``maxFeatureSeries`` (model, feature)
/// pairs: beyond that new pairs are not exported and `driftline_feature_series_dropped_total`
/// counts them, so a stream with unbounded model ids cannot blow up the scrape.
public final class PipelineMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    public let maxFeatureSeries: Int

    struct State {
        var totals: [String: Int64] = [:]
        var counters: [String: CoreMetrics.Counter] = [:]
        var gauges: [String: CoreMetrics.Gauge] = [:]
        var featureSeries: Set<String> = []
        var ready = false
    }

    let state = Mutex(State())

    public init(maxFeatureSeries: Int = 1000) {
        factory = PrometheusMetricsFactory(registry: registry)
        self.maxFeatureSeries = maxFeatureSeries
    }

    /// `/readyz` answers 200 once this is set (the run is consuming, the replay reading).
    public var isReady: Bool {
        get { state.withLock { $0.ready } }
        set { state.withLock { $0.ready = newValue } }
    }

    /// Prometheus text format.
    public func exposition() -> String {
        registry.emitToString()
    }

    func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
    }

    /// Raises a counter to a cumulative total (counters never go down).
    public func setTotal(_ label: String, _ dimensions: [(String, String)] = [], to total: Int64) {
        let k = key(label, dimensions)
        state.withLock { s in
            let previous = s.totals[k] ?? 0
            guard total > previous else { return }
            let counter = s.counters[k] ?? CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
            s.counters[k] = counter
            counter.increment(by: total - previous)
            s.totals[k] = total
        }
    }

    public func set(_ label: String, _ dimensions: [(String, String)] = [], _ value: Double) {
        let k = key(label, dimensions)
        state.withLock { s in
            let gauge = s.gauges[k] ?? CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
            s.gauges[k] = gauge
            gauge.record(value)
        }
    }

    public func set(_ label: String, _ value: Double) {
        set(label, [], value)
    }

    /// The latest drift metrics of every feature of a closed window.
    public func record(_ window: ClosedWindow) {
        set("driftline_window_events", [("model", window.model)], Double(window.events))
        set("driftline_window_drift_share", [("model", window.model)], window.driftShare)
        for result in window.results {
            let series = "\(window.model)\u{1}\(result.feature)"
            let admitted = state.withLock { s in
                if s.featureSeries.contains(series) { return true }
                guard s.featureSeries.count < maxFeatureSeries else { return false }
                s.featureSeries.insert(series)
                return true
            }
            guard admitted else {
                state.withLock { s in
                    let k = key("driftline_feature_series_dropped_total", [])
                    let counter = s.counters[k] ?? CoreMetrics.Counter(label: "driftline_feature_series_dropped_total", factory: factory)
                    s.counters[k] = counter
                    counter.increment()
                }
                continue
            }
            let dimensions = [("model", window.model), ("feature", result.feature)]
            let values: [(String, Double?)]
            switch result.metrics {
            case .numeric(let m):
                values = [("psi", m.psi), ("ks_statistic", m.ksStatistic), ("ks_pvalue", m.ksPValue), ("js_distance", m.jsDistance)]
            case .categorical(let m):
                values = [("psi", m.psi), ("chi2_pvalue", m.chi2PValue), ("js_distance", m.jsDistance), ("new_category_rate", m.newCategoryRate)]
            }
            for (name, value) in values {
                if let value { set("driftline_feature_\(name)", dimensions, value) }
            }
            set("driftline_feature_drift", dimensions, result.drift ? 1 : 0)
        }
    }

    /// The pipeline's running counts.
    public func record(
        read: Int64, accepted: Int64, rejected: [RejectReason: Int64], late: Int64, windowsClosed: Int, openWindowParts: Int,
        alertsFiring: Int?
    ) {
        setTotal("driftline_events_read_total", to: read)
        setTotal("driftline_events_accepted_total", to: accepted)
        for (reason, n) in rejected { setTotal("driftline_events_rejected_total", [("reason", reason.rawValue)], to: n) }
        setTotal("driftline_events_late_total", to: late)
        setTotal("driftline_windows_closed_total", to: Int64(windowsClosed))
        set("driftline_windows_open", Double(openWindowParts))
        if let alertsFiring { set("driftline_alerts_firing", Double(alertsFiring)) }
    }
}
