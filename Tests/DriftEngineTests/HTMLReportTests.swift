import DriftCore
@testable import DriftEngine
import Foundation
import Testing

/// The report from the snapshots of a real replay of the Fixtures traffic.
@Suite struct HTMLReportTests {
    @Test func theReportIsSelfContainedAndSortsDriftedFeaturesFirst() throws {
        let scratch = try ScratchDirectory()
        var config = try DriftlineConfig(contentsOf: Fixture.path("fraud.yaml"))
        _ = try ProfileBuild.run(config: config, inputs: [Fixture.path("traffic/reference.ndjson.zst")], output: scratch.file("r.drp"))
        config.reference.profile = scratch.file("r.drp")
        let profile = try config.loadProfile()
        let writer = try SnapshotWriter(directory: scratch.file("snaps"), config: config, profile: profile)
        var options = Replay.Options()
        options.onWindow = writer.hook(after: nil)
        _ = try Replay(config: config, profile: profile).run(inputs: [Fixture.path("traffic/stream.ndjson.zst")], options: options)
        try writer.close()
        let (snapshots, skipped) = SnapshotReader.read(scratch.file("snaps"))
        #expect(skipped.isEmpty && snapshots.count == 26)

        let html = HTMLReport.render(snapshots, psiThreshold: 0.2)
        // Self-contained: no scripts, no external styles, images or fonts.
        #expect(!html.contains("<script"))
        #expect(!html.contains("<link"))
        #expect(!html.contains("src="))
        #expect(!html.contains("url("))
        // A table row per feature, a histogram and a time series per feature.
        #expect(html.components(separatedBy: "<tr><td>").count - 1 == 12)
        #expect(html.components(separatedBy: "aria-label=\"histogram\"").count - 1 == 12)
        #expect(html.components(separatedBy: "aria-label=\"psi over time\"").count - 1 == 12)
        // The features that drifted come first, the worst (most drifted windows) at the top;
        // a feature that never drifted comes after them.
        let order = ["prediction.score", "features.txn_count_24h", "features.country", "features.merchant_risk", "features.failed_logins"]
            .map { html.range(of: ">\($0)</a>")!.lowerBound }
        #expect(order[0] < order[4] && order[1] < order[4] && order[2] < order[4] && order[3] < order[4])
        // Drifted windows are marked on the series, and the threshold is drawn.
        #expect(html.contains("(drift)</title>"))
        #expect(html.contains("<title>threshold 0.2</title>"))
        // The 3- and 1-event windows at the edges are not plotted: the largest PSI shown is a
        // full window's.
        #expect(!html.contains(">10.33</td>"))
        // Labels from the data are escaped.
        #expect(HTMLReport.escape(#"<a href="x">&'"#) == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
    }
}
