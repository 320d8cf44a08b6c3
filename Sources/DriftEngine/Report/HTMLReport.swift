import DriftCore

/// `driftline report`: one self-contained HTML file (no external scripts, styles or fonts)
/// drawn from snapshots: a table of features sorted by drift severity, and per feature an
/// inline SVG of the reference against the latest drifted (or last) window, and the PSI
/// time series with the drift threshold and the drifted windows marked.
public enum HTMLReport {
    public struct Summary: Sendable {
        public var windows: Int
        public var features: Int
        public var skipped: [String]
    }

    /// Renders the snapshots; `psiThreshold` draws the threshold line (the config's `drift.psi`).
    /// Windows with fewer than `minCount` events are left out of the PSI series: their PSI
    /// says more about their size than about drift (the pipeline never flags them either).
    public static func render(
        _ snapshots: [WindowSnapshot], psiThreshold: Double?, minCount: Int = 100, title: String = "Driftline drift report"
    ) -> String {
        let series = Dictionary(grouping: snapshots.flatMap { s in s.features.map { (s, $0) } }) { "\($0.0.model)\u{1}\($0.1.feature)" }
        struct Row {
            var model: String
            var feature: String
            var kind: String
            var windows: Int
            var drifted: Int
            var maxPSI: Double
            var lastPSI: Double?
            var points: [(end: EpochMicroseconds, psi: Double?, drift: Bool)]
            var shown: FeatureSnapshot
            var shownWindow: WindowSnapshot
        }
        var rows: [Row] = []
        for (_, entries) in series {
            let sorted = entries.sorted { $0.0.end < $1.0.end }
            let points = sorted.map { (end: $0.0.end, psi: $0.0.events >= minCount ? psi($0.1) : nil, drift: $0.1.drift) }
            let shown = sorted.last(where: { $0.1.drift }) ?? sorted.last!
            rows.append(Row(
                model: sorted[0].0.model, feature: sorted[0].1.feature, kind: sorted[0].1.kind, windows: sorted.count,
                drifted: sorted.filter { $0.1.drift }.count, maxPSI: points.compactMap(\.psi).max() ?? 0,
                lastPSI: points.last(where: { $0.psi != nil })?.psi, points: points, shown: shown.1, shownWindow: shown.0))
        }
        rows.sort { a, b in
            a.drifted != b.drifted ? a.drifted > b.drifted : (a.maxPSI != b.maxPSI ? a.maxPSI > b.maxPSI : (a.model, a.feature) < (b.model, b.feature))
        }
        let first = snapshots.map(\.start).min(), last = snapshots.map(\.end).max()
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#1d2330;background:#fff}
            h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 6px}.sub{color:#5b6475;font-size:13px}
            table{border-collapse:collapse;font-size:13px;margin-top:12px}th,td{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:right}
            th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
            .bad{color:#b42318;font-weight:600}.ok{color:#277a3d}.card{display:flex;gap:24px;flex-wrap:wrap}
            svg{background:#fafbfc;border:1px solid #e3e6ec}.legend{font-size:12px;color:#5b6475}
            </style></head><body>
            <h1>\(escape(title))</h1>
            <div class="sub">windows of fewer than \(minCount) events are not plotted; \(snapshots.count) windows\(first.map { " from \(TimestampFormat.rfc3339Milliseconds($0))" } ?? "")\(last.map { " to \(TimestampFormat.rfc3339Milliseconds($0))" } ?? ""), \(rows.count) features; PSI drift threshold \(psiThreshold.map { fmt($0) } ?? "off")</div>
            <table><tr><th>model</th><th>feature</th><th>kind</th><th>windows</th><th>drifted</th><th>max PSI</th><th>last PSI</th></tr>

            """
        for r in rows {
            html += "<tr><td>\(escape(r.model))</td><td><a href=\"#\(anchor(r.model, r.feature))\">\(escape(r.feature))</a></td><td>\(r.kind)</td>"
            html += "<td>\(r.windows)</td><td class=\"\(r.drifted > 0 ? "bad" : "ok")\">\(r.drifted)</td><td>\(fmt(r.maxPSI))</td><td>\(r.lastPSI.map(fmt) ?? "–")</td></tr>\n"
        }
        html += "</table>\n"
        for r in rows {
            html += "<h2 id=\"\(anchor(r.model, r.feature))\">\(escape(r.feature)) <span class=\"sub\">model \(escape(r.model)), \(r.drifted) of \(r.windows) windows drifted</span></h2>\n"
            html += "<div class=\"card\">\n"
            html += histogram(r.shown, window: r.shownWindow)
            html += timeSeries(r.points, threshold: psiThreshold)
            html += "</div>\n"
        }
        html += "</body></html>\n"
        return html
    }

    static func psi(_ f: FeatureSnapshot) -> Double? {
        switch f.metrics {
        case .numeric(let m): m.psi
        case .categorical(let m): m.psi
        }
    }

    /// Reference against window proportions, bar pairs per bin.
    static func histogram(_ f: FeatureSnapshot, window: WindowSnapshot) -> String {
        let labels = f.binLabels, ref = f.referenceProportions, win = f.windowProportions
        let n = max(1, min(labels.count, ref.count, win.count))
        let width = 460.0, height = 220.0, left = 40.0, bottom = 40.0, top = 24.0
        let top1 = max(ref.prefix(n).max() ?? 0, win.prefix(n).max() ?? 0, 1e-9)
        let slot = (width - left - 10) / Double(n)
        var svg = "<svg role=\"img\" aria-label=\"histogram\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        svg += "<text x=\"\(left)\" y=\"15\" font-size=\"12\" fill=\"#1d2330\">reference vs window \(escape(TimestampFormat.rfc3339Milliseconds(window.start)))</text>\n"
        let plot = height - bottom - top
        for i in 0..<n {
            let x = left + Double(i) * slot
            let hr = plot * ref[i] / top1, hw = plot * win[i] / top1
            svg += "<rect x=\"\(f1(x + slot * 0.1))\" y=\"\(f1(top + plot - hr))\" width=\"\(f1(slot * 0.38))\" height=\"\(f1(hr))\" fill=\"#8da2c0\"><title>reference \(escape(labels[i])): \(fmt(ref[i]))</title></rect>\n"
            svg += "<rect x=\"\(f1(x + slot * 0.5))\" y=\"\(f1(top + plot - hw))\" width=\"\(f1(slot * 0.38))\" height=\"\(f1(hw))\" fill=\"\(f.drift ? "#d9534f" : "#3c8d5a")\"><title>window \(escape(labels[i])): \(fmt(win[i]))</title></rect>\n"
            if n <= 12 {
                let label = labels[i].count > 10 ? String(labels[i].prefix(9)) + "…" : labels[i]
                svg += "<text x=\"\(f1(x + slot / 2))\" y=\"\(f1(height - bottom + 14))\" font-size=\"9\" text-anchor=\"middle\" fill=\"#5b6475\">\(escape(label))</text>\n"
            }
        }
        svg += "<line x1=\"\(left)\" y1=\"\(top + plot)\" x2=\"\(width - 10)\" y2=\"\(top + plot)\" stroke=\"#9aa3b2\"/>\n"
        svg += "<text x=\"\(left)\" y=\"\(height - 6)\" font-size=\"11\" fill=\"#5b6475\">grey: reference, colour: window (proportions per bin)</text>\n"
        return svg + "</svg>\n"
    }

    /// PSI per window over time, the threshold as a dashed line, drifted windows in red.
    static func timeSeries(_ points: [(end: EpochMicroseconds, psi: Double?, drift: Bool)], threshold: Double?) -> String {
        let width = 460.0, height = 220.0, left = 44.0, bottom = 30.0, top = 24.0, right = 10.0
        let values = points.compactMap(\.psi) + (threshold.map { [$0] } ?? [])
        let maxY = max(values.max() ?? 0, 1e-9) * 1.1
        let t0 = Double(points.first?.end ?? 0), t1 = Double(points.last?.end ?? 1)
        func x(_ t: EpochMicroseconds) -> Double { left + (t1 > t0 ? (Double(t) - t0) / (t1 - t0) : 0.5) * (width - left - right) }
        func y(_ v: Double) -> Double { top + (1 - v / maxY) * (height - top - bottom) }
        var svg = "<svg role=\"img\" aria-label=\"psi over time\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        svg += "<text x=\"\(left)\" y=\"15\" font-size=\"12\" fill=\"#1d2330\">PSI per window</text>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(f1(y(0)))\" x2=\"\(width - right)\" y2=\"\(f1(y(0)))\" stroke=\"#9aa3b2\"/>\n"
        svg += "<text x=\"\(left - 4)\" y=\"\(f1(y(maxY / 1.1) + 4))\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6475\">\(fmt(maxY / 1.1))</text>\n"
        if let threshold {
            svg += "<line x1=\"\(left)\" y1=\"\(f1(y(threshold)))\" x2=\"\(width - right)\" y2=\"\(f1(y(threshold)))\" stroke=\"#b42318\" stroke-dasharray=\"5 4\"><title>threshold \(fmt(threshold))</title></line>\n"
        }
        let path = points.compactMap { p in p.psi.map { "\(f1(x(p.end))),\(f1(y($0)))" } }
        if path.count > 1 { svg += "<polyline fill=\"none\" stroke=\"#2f5d9e\" stroke-width=\"1.5\" points=\"\(path.joined(separator: " "))\"/>\n" }
        for p in points {
            guard let v = p.psi else { continue }
            svg += "<circle cx=\"\(f1(x(p.end)))\" cy=\"\(f1(y(v)))\" r=\"\(p.drift ? 4 : 2.5)\" fill=\"\(p.drift ? "#d9534f" : "#2f5d9e")\"><title>\(TimestampFormat.rfc3339Milliseconds(p.end)): \(fmt(v))\(p.drift ? " (drift)" : "")</title></circle>\n"
        }
        if let first = points.first, let last = points.last {
            svg += "<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"10\" fill=\"#5b6475\">\(String(TimestampFormat.rfc3339Milliseconds(first.end).prefix(16)))</text>\n"
            svg += "<text x=\"\(width - right)\" y=\"\(height - 8)\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6475\">\(String(TimestampFormat.rfc3339Milliseconds(last.end).prefix(16)))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func anchor(_ model: String, _ feature: String) -> String {
        "f-" + String((model + "-" + feature).unicodeScalars.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) ? Character($0) : "-" })
    }

    static func fmt(_ x: Double) -> String { AlertEvent.short(x) }
    static func f1(_ x: Double) -> String { String((x * 10).rounded() / 10) }
}
