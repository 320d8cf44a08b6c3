import ArgumentParser
import DriftEngine
import Logging

/// What `run` and `replay` share besides the pipeline: the alert sinks of the config and
/// `--metrics-listen`.
struct MonitoringOptions: ParsableArguments {
    @Option(name: .customLong("metrics-listen"), help: "Serve Prometheus /metrics, /healthz and /readyz on HOST:PORT (e.g. 127.0.0.1:9464).")
    var metricsListen: String?

    func validate() throws {
        if let metricsListen, MetricsServer.parse(metricsListen) == nil {
            throw ValidationError("--metrics-listen must be IPV4:PORT such as 127.0.0.1:9464, not \(metricsListen)")
        }
    }

    /// The config's alerting (stdout sinks print to standard output, webhook drops and rules
    /// that cannot see their metric go to `logger`) and, when asked, the metrics and their
    /// server (stop it at the end).
    func start(_ config: DriftlineConfig, logger: Logger) throws -> (alerts: Alerting?, metrics: PipelineMetrics?, server: MetricsServer?) {
        let alerts = try config.makeAlerting(print: { Swift.print($0) }, logger: logger)
        guard let metricsListen else { return (alerts, nil, nil) }
        let metrics = PipelineMetrics()
        return (alerts, metrics, try MetricsServer(address: metricsListen, metrics: metrics))
    }
}
