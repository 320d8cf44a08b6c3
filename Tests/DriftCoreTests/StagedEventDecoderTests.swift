import Testing
@testable import DriftCore

/// The staged decoder must accept, reject and append exactly what `decode` does, event by
/// event, whatever the order of batches it is flushed into.
@Suite struct StagedEventDecoderTests {
    static let schema = EventSchema(
        timestamp: "ts", model: "model",
        numeric: ["features.amount", "score"],
        categorical: ["features.country", "tag"])

    /// Valid events of several shapes and events rejected for every kind of reason, some after
    /// they appended arena bytes.
    static func events(count: Int) -> [String] {
        var events: [String] = []
        let countries = ["DE", "FR", "G\\u00e9", "", "US"]
        for i in 0..<count {
            switch i % 11 {
            case 0: events.append(#"{"ts":\#(i),"model":"m\#(i % 3)","features":{"amount":\#(Double(i) * 0.25),"country":"\#(countries[i % 5])"},"tag":"t\#(i % 7)"}"#)
            case 1: events.append(#"{"ts":\#(i),"features":{"amount":null},"score":\#(i)e-3}"#)
            case 2: events.append(#"{"ts":\#(i),"model":"mm","features":{"country":"FR"},"tag":"y","score":"s"}"#)  // not a number
            case 3: events.append(#"{"model":"mm","features":{"country":"FR"},"tag":"y"}"#)  // no timestamp
            case 4: events.append(#"  {"ts":"2025-11-26T10:00:0\#(i % 10)Z","tag":true,"features":{"country":12.50}}  "#)
            case 5: events.append(#"{"ts":1,"model":"mm","tag":"y","x":[}"#)  // malformed
            case 6: events.append(" \t ")  // blank
            case 7: events.append("")  // empty
            case 8: events.append(#"{"ts":\#(i),"model":7,"score":1e999}"#)  // out of range
            case 9: events.append(#"{"ts":\#(i),"model":"m","features":{"amount":-\#(i),"country":"\#(String(repeating: "x", count: i % 40))"}}"#)
            default: events.append(#"{"ts":\#(i),"model":"m1","tag":"\ud800"}"#)  // lone surrogate
            }
        }
        return events
    }

    /// The same rows: equal values (a stager stores a repeated string once, so arena
    /// ranges may differ while the strings they hold are equal).
    static func same(_ a: EventBatch, _ b: EventBatch) -> Bool {
        a.timestamps == b.timestamps && a.positions == b.positions && a.models.map(a.string) == b.models.map(b.string)
            && a.numeric.elementsEqual(b.numeric, by: { x, y in x.elementsEqual(y, by: { $0 == $1 || ($0.isNaN && $1.isNaN) }) })
            && a.categorical.map { $0.map(a.string) } == b.categorical.map { $0.map(b.string) }
    }

    @Test(arguments: [1, 5, 64, 300])
    func matchesDecodeAcrossBatches(runLength: Int) {
        let decoder = JSONEventDecoder(schema: Self.schema)
        let staged = StagedEventDecoder(decoder)
        let events = Self.events(count: 1_000)
        // Events go to three batches in runs, as a poll's messages go to their partitions.
        var expected = (0..<3).map { _ in EventBatch(numericCount: 2, categoricalCount: 2) }
        var actual = expected
        var expectedReasons: [RejectReason?] = []
        var actualReasons: [RejectReason?] = []
        var current = -1
        for (i, event) in events.enumerated() {
            let target = (i / runLength) % 3
            if target != current {
                if current >= 0 { staged.flush(into: &actual[current]) }
                current = target
            }
            Array(event.utf8).withUnsafeBytes { raw in
                expectedReasons.append(decoder.decode(raw, position: Int64(i), into: &expected[target]))
                actualReasons.append(staged.decode(raw, position: Int64(i), into: &actual[target]))
            }
        }
        staged.flush(into: &actual[current])
        #expect(staged.staged == 0)
        #expect(expectedReasons == actualReasons)
        #expect(Set(expectedReasons.compactMap { $0 }).count >= 5)
        #expect(expectedReasons.filter { $0 == nil }.count > 200)
        for b in 0..<3 {
            #expect(Self.same(expected[b], actual[b]), "batch \(b)")
        }
        // Repeated short strings are stored once per run of one batch.
        if runLength >= 64 {
            #expect(actual.map(\.bytes.count).reduce(0, +) < expected.map(\.bytes.count).reduce(0, +))
        }
    }

    @Test func limitsAreTheDecoders() {
        let decoder = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxDepth: 3, maxEventBytes: 40))
        let staged = StagedEventDecoder(decoder)
        var batch = EventBatch(numericCount: 2, categoricalCount: 2)
        var reference = batch
        for json in [#"{"ts":1,"a":{"b":{"c":{"d":1}}}}"#, #"{"ts":1,"a":{"b":1}}"#, #"{"ts":1,"tag":"\#(String(repeating: "y", count: 40))"}"#] {
            Array(json.utf8).withUnsafeBytes { raw in
                #expect(decoder.decode(raw, position: 1, into: &reference) == staged.decode(raw, position: 1, into: &batch))
            }
        }
        staged.flush(into: &batch)
        #expect(batch.count == 1)
        #expect(Self.same(batch, reference))
    }
}
