import DriftCore

/// One alert as Alertmanager v2 receives it (`postableAlert` in its OpenAPI spec).
///
/// Alertmanager tells alerts apart by their labels: the same labels sent again update
/// the same alert, so a re-emitted alert (after a restart) is not a new one. A firing
/// alert has no ``endsAt`` (Alertmanager then resolves it on its own after its
/// `resolve_timeout` unless it is sent again); a resolved one carries the time it ended.
public struct AlertNotice: Sendable, Hashable {
    /// Identify the alert: `alertname`, `severity`, `model`, `feature`, … .
    public var labels: [String: String]
    /// Describe it without identifying it: `summary`, `description`, values, … .
    public var annotations: [String: String]
    /// When it began to fire, RFC 3339 (`2024-05-01T12:05:00.000Z`).
    public var startsAt: String
    /// When it was resolved, RFC 3339; `nil` while it fires.
    public var endsAt: String?
    /// A link back to what produced it (shown by Alertmanager as "Source").
    public var generatorURL: String?

    public init(
        labels: [String: String],
        annotations: [String: String] = [:],
        startsAt: String,
        endsAt: String? = nil,
        generatorURL: String? = nil
    ) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    /// The alert as one JSON object, the way Alertmanager v2's `POST /api/v2/alerts` reads it.
    ///
    /// Labels and annotations are written in key order, so the same alert gives the same
    /// bytes; `endsAt` and `generatorURL` are left out when `nil`.
    public var json: String {
        var w = JSONObjectWriter()
        w.raw("labels", AlertNotice.jsonObject(labels))
        w.raw("annotations", AlertNotice.jsonObject(annotations))
        w.string("startsAt", startsAt)
        if let endsAt { w.string("endsAt", endsAt) }
        if let generatorURL { w.string("generatorURL", generatorURL) }
        return w.finish()
    }

    /// Alerts as the JSON array that is the body of one `POST /api/v2/alerts`.
    public static func jsonArray(_ alerts: some Sequence<AlertNotice>) -> String {
        var text = "["
        var first = true
        for alert in alerts {
            if !first { text += "," }
            first = false
            text += alert.json
        }
        text += "]"
        return text
    }

    static func jsonObject(_ pairs: [String: String]) -> String {
        var w = JSONObjectWriter()
        for (key, value) in pairs.sorted(by: { $0.key < $1.key }) { w.string(key, value) }
        return w.finish()
    }
}
