import ArgumentParser
import DriftCore
import DriftEngine
import Logging

/// What `run` and `replay` share besides the pipeline: the alert sinks of the config,
/// `--metrics-listen` and the snapshot outputs.
struct MonitoringOptions: ParsableArguments {
    @Option(name: .customLong("metrics-listen"), help: "Serve Prometheus /metrics, /healthz and /readyz on HOST:PORT (e.g. 127.0.0.1:9464).")
    var metricsListen: String?

    @Option(name: .long, help: "Write a zstd snapshot of every closed window into this directory (read by inspect and report).")
    var snapshots: String?

    @Option(name: .customLong("snapshots-topic"), help: "Produce the snapshot of every closed window into this Kafka topic: one record per window, keyed model/window-end, its value the bytes of the snapshot file.")
    var snapshotsTopic: String?

    func validate() throws {
        if let metricsListen, MetricsServer.parse(metricsListen) == nil {
            throw ValidationError("--metrics-listen must be IPV4:PORT such as 127.0.0.1:9464, not \(metricsListen)")
        }
        if snapshotsTopic?.isEmpty == true { throw ValidationError("--snapshots-topic needs a topic name") }
    }

    /// What a run monitors with; stop ``server`` and close ``snapshots`` at the end.
    struct Monitor {
        var alerts: Alerting?
        var metrics: PipelineMetrics?
        var server: MetricsServer?
        var snapshots: SnapshotOutputs?
    }

    /// The config's alerting (stdout sinks print to standard output, or to standard error
    /// when the results go to standard output, so those stay JSON lines; webhook drops and
    /// rules that cannot see their metric go to `logger`), the snapshot outputs, and, when
    /// asked, the metrics and their server.
    ///
    /// - Parameters:
    ///   - brokers: Where `--snapshots-topic` is produced.
    ///   - results: The `--results` path (`-`: standard output).
    func start(
        _ config: DriftlineConfig, profile: ReferenceProfile?, brokers: String, results: String?, logger: Logger
    ) throws -> Monitor {
        var monitor = Monitor()
        let resultsOnStdout = results == "-"
        monitor.alerts = try config.makeAlerting(
            print: { resultsOnStdout ? Terminal.print($0) : Swift.print($0) }, logger: logger)
        monitor.snapshots = try SnapshotOutputs.open(
            directory: snapshots, topic: snapshotsTopic, bootstrapServers: brokers, config: config, profile: profile)
        if let metricsListen {
            let metrics = PipelineMetrics()
            monitor.metrics = metrics
            monitor.server = try MetricsServer(address: metricsListen, metrics: metrics)
        }
        return monitor
    }
}
