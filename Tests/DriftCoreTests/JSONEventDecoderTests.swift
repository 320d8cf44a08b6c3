#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import DriftCore

@Suite struct JSONEventDecoderTests {
    /// A small deterministic generator, so failures reproduce.
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let schema = EventSchema(
        timestamp: "ts", model: "model",
        numeric: ["features.amount", "score"],
        categorical: ["features.country", "tag"])
    let decoder = JSONEventDecoder(schema: Self.schema)

    /// Decodes one event into a fresh batch.
    func decode(_ json: String, with decoder: JSONEventDecoder? = nil) -> (RejectReason?, EventBatch) {
        decode(Array(json.utf8), with: decoder)
    }

    func decode(_ bytes: [UInt8], with decoder: JSONEventDecoder? = nil) -> (RejectReason?, EventBatch) {
        let d = decoder ?? self.decoder
        var batch = EventBatch(numericCount: d.schema.numeric.count, categoricalCount: d.schema.categorical.count)
        let reason = bytes.withUnsafeBytes { d.decode($0, position: 7, into: &batch) }
        return (reason, batch)
    }

    func reason(_ json: String, with decoder: JSONEventDecoder? = nil) -> RejectReason? {
        decode(json, with: decoder).0
    }

    // MARK: - Paths and values

    /// An object with many configured keys (their node gets a hash table): every key is
    /// found in any order, next to unknown keys, escaped keys and a nested wide object.
    @Test(arguments: [1 as UInt64, 2, 3])
    func wideObjectsFindEveryKeyInAnyOrder(seed: UInt64) throws {
        let names = (0..<40).map { "k\($0)" } + ["a_rather_long_key_name_beyond_sixteen_bytes"]
        let schema = EventSchema(
            timestamp: "ts", model: nil, numeric: names + names.map { "wide." + $0 }, categorical: [])
        let decoder = JSONEventDecoder(schema: schema)
        var rng = RNG(seed: seed)
        var members = names.enumerated().map { (k, name) in #""\#(name)":\#(k)"# }
        members += (0..<30).map { #""unknown\#($0)":"x""# }
        members += [#""k\u0031":1"#]  // "k1" escaped: the same key again, same value
        members.shuffle(using: &rng)
        let nested = names.enumerated().shuffled(using: &rng).map { (k, name) in #""\#(name)":\#(k + 100)"# }
        let json = #"{"ts":1,"wide":{"# + nested.joined(separator: ",") + "}," + members.joined(separator: ",") + "}"
        let (reason, batch) = decode(json, with: decoder)
        #expect(reason == nil)
        try #require(batch.count == 1)
        for k in names.indices {
            #expect(batch.numeric[k] == [Double(k)], "\(names[k])")
            #expect(batch.numeric[names.count + k] == [Double(k + 100)], "wide.\(names[k])")
        }
    }

    @Test func decodesConfiguredFields() throws {
        let (reason, batch) = decode(
            #"{"ts":1764151200123,"model":"fraud-v3","features":{"amount":42.17,"country":"DE","x":[1,2]},"score":0.25,"tag":"a"}"#)
        #expect(reason == nil)
        try #require(batch.count == 1)
        #expect(batch.timestamps == [1_764_151_200_123_000])
        #expect(batch.positions == [7])
        #expect(batch.string(batch.models[0]) == "fraud-v3")
        #expect(batch.numeric[0] == [42.17])
        #expect(batch.numeric[1] == [0.25])
        #expect(batch.string(batch.categorical[0][0]) == "DE")
        #expect(batch.string(batch.categorical[1][0]) == "a")
    }

    @Test func reachesDeeplyNestedPaths() throws {
        let d = JSONEventDecoder(schema: EventSchema(
            timestamp: "meta.time.t", model: "meta.model.name", numeric: ["a.b.c.d"], categorical: ["a.b.e"]))
        let (reason, batch) = decode(
            #"{"a":{"b":{"e":"x","c":{"d":-1.5e3}}},"meta":{"model":{"name":"m1","v":2},"time":{"t":5}}}"#, with: d)
        #expect(reason == nil)
        try #require(batch.count == 1)
        #expect(batch.numeric[0] == [-1500])
        #expect(batch.string(batch.categorical[0][0]) == "x")
        #expect(batch.string(batch.models[0]) == "m1")
        #expect(batch.timestamps == [5_000_000])
    }

    @Test func missingValuesAreNaNAndMissing() throws {
        let (reason, batch) = decode(#"{"ts":1,"features":{"amount":null},"tag":null}"#)
        #expect(reason == nil)
        try #require(batch.count == 1)
        #expect(batch.numeric[0][0].isNaN)
        #expect(batch.numeric[1][0].isNaN)
        #expect(batch.categorical[0][0].isMissing)
        #expect(batch.categorical[1][0].isMissing)
        #expect(batch.models[0].isMissing)
    }

    @Test func pathThroughANonObjectIsMissing() throws {
        // `features` is not an object here: nothing is under it, so its fields are missing.
        for features in [#""flat""#, #"[{"amount":1}]"#, "12", "null"] {
            let (reason, batch) = decode(#"{"ts":1,"features":"# + features + "}")
            #expect(reason == nil)
            try #require(batch.count == 1)
            #expect(batch.numeric[0][0].isNaN)
            #expect(batch.categorical[0][0].isMissing)
        }
    }

    @Test func unconfiguredValuesAreSkippedButValidated() {
        #expect(reason(#"{"ts":1,"x":[1,{"a":"\u00e9\n","b":[true,false,null,-0.5e-3]},[]],"y":{}}"#) == nil)
        #expect(reason(#"{"ts":1,"x":[1,}"#) == .malformedJSON)
        #expect(reason(#"{"ts":1,"x":{"a" 1}}"#) == .malformedJSON)
        #expect(reason(#"{"ts":1,"x":"\q"}"#) == .malformedJSON)
        #expect(reason(#"{"ts":1,"x":01}"#) == .malformedJSON)
        #expect(reason(#"{"ts":1,"x":tru}"#) == .malformedJSON)
        #expect(reason(#"{"ts":1,"x":[1 2]}"#) == .malformedJSON)
        #expect(reason(#"{"ts":1,"x":{"a":1,}}"#) == .malformedJSON)
    }

    @Test func keysMatchAfterUnescaping() throws {
        let (reason, batch) = decode(#"{"t\u0073":2,"fe\u0061tures":{"amo\/unt":1,"amount":3,"c\u006Funtry":"\u00e9"}}"#)
        #expect(reason == nil)
        try #require(batch.count == 1)
        #expect(batch.timestamps == [2_000_000])
        #expect(batch.numeric[0] == [3])
        #expect(batch.string(batch.categorical[0][0]) == "é")
    }

    @Test func repeatedKeyLastValueWins() throws {
        var (r, batch) = decode(#"{"ts":1,"score":"bad","score":2,"tag":"a","tag":"b"}"#)
        #expect(r == nil)
        #expect(batch.numeric[1] == [2])
        #expect(batch.string(batch.categorical[1][0]) == "b")
        (r, batch) = decode(#"{"ts":1,"score":2,"score":"bad"}"#)
        #expect(r == .notANumber)
        // A repeated object replaces the whole earlier object.
        (r, batch) = decode(#"{"ts":1,"features":{"amount":5,"country":"DE"},"features":{"country":"FR"}}"#)
        #expect(r == nil)
        #expect(batch.numeric[0][0].isNaN)
        #expect(batch.string(batch.categorical[0][0]) == "FR")
        (r, batch) = decode(#"{"ts":"x","ts":3}"#)
        #expect(r == nil)
        #expect(batch.timestamps == [3_000_000])
        (r, batch) = decode(#"{"ts":3,"ts":null}"#)
        #expect(r == .missingTimestamp)
    }

    // MARK: - Document shape

    @Test(arguments: [
        ("[1,2]", RejectReason.notAnObject), ("\"s\"", .notAnObject), ("1", .notAnObject), ("null", .notAnObject),
        (" true ", .notAnObject), ("[[[]]]", .notAnObject), ("[1", .malformedJSON), ("x", .malformedJSON),
        ("{\"ts\":1} x", .malformedJSON), ("{\"ts\":1}{}", .malformedJSON), ("{\"ts\":1},", .malformedJSON),
        ("", .emptyLine), ("  \t\r\n", .emptyLine), ("\u{FEFF}{\"ts\":1}", .malformedJSON),
    ])
    func documentShape(json: String, expected: RejectReason) {
        #expect(reason(json) == expected)
    }

    @Test func surroundingWhitespaceIsAllowed() {
        #expect(reason(" \t\r\n{ \"ts\" : 1 , \"score\" :\n2 }\r\n ") == nil)
        #expect(reason("{}") == .missingTimestamp)
    }

    @Test func invalidDocuments() {
        let table: [(String, RejectReason)] = [
            (#"{"ts":1,}"#, .malformedJSON),
            (#"{"ts":1"#, .malformedJSON),
            (#"{"ts":1,"a":[}"#, .malformedJSON),
            (#"{"ts":1,"a":]}"#, .malformedJSON),
            (#"{ts:1}"#, .malformedJSON),
            (#"{'ts':1}"#, .malformedJSON),
            (#"{"ts":1,"a":"unterminated}"#, .malformedJSON),
            (#"{"ts":1,"a":1.}"#, .malformedJSON),
            (#"{"ts":1,"a":.5}"#, .malformedJSON),
            (#"{"ts":1,"a":-}"#, .malformedJSON),
            (#"{"ts":1,"a":+1}"#, .malformedJSON),
            (#"{"ts":1,"a":1e}"#, .malformedJSON),
            (#"{"ts":1,"a":1e+}"#, .malformedJSON),
            (#"{"ts":1,"a":--1}"#, .malformedJSON),
            (#"{"ts":1,"a":0x10}"#, .malformedJSON),
            (#"{"ts":1,"a":1.5e3.2}"#, .malformedJSON),
            (#"{"ts":1,"a":NaN}"#, .malformedJSON),
            (#"{"ts":1,"a":Infinity}"#, .malformedJSON),
            (#"{"ts":1,"a":nul}"#, .malformedJSON),
            (#"{"ts":1,"a":falsey}"#, .malformedJSON),
            (#"{"ts":1,"a":"\u12G4"}"#, .malformedJSON),
            (#"{"ts":1,"a":"\x"}"#, .malformedJSON),
            (#"{"ts":1,"a":"\ud83d"}"#, .invalidUTF8),
            (#"{"ts":1,"a":"\ude00"}"#, .invalidUTF8),
            (#"{"ts":1,"a":"\ud83d\u0041"}"#, .invalidUTF8),
            (#"{"ts":1,"a":"\ud83d\n"}"#, .invalidUTF8),
            (#"{"ts":1,"score":"1"}"#, .notANumber),
            (#"{"ts":1,"score":"NaN"}"#, .notANumber),
            (#"{"ts":1,"score":"Infinity"}"#, .notANumber),
            (#"{"ts":1,"score":true}"#, .notANumber),
            (#"{"ts":1,"score":{}}"#, .notANumber),
            (#"{"ts":1,"score":[1]}"#, .notANumber),
            (#"{"ts":1,"score":1e400}"#, .numberOutOfRange),
            (#"{"ts":1,"score":-1e400}"#, .numberOutOfRange),
            (#"{"ts":1,"tag":{}}"#, .invalidCategory),
            (#"{"ts":1,"tag":["a"]}"#, .invalidCategory),
            (#"{"ts":1,"model":1.5}"#, .invalidModel),
            (#"{"ts":1,"model":1e3}"#, .invalidModel),
            (#"{"ts":1,"model":true}"#, .invalidModel),
            (#"{"ts":1,"model":{}}"#, .invalidModel),
            (#"{"model":"m"}"#, .missingTimestamp),
            (#"{"ts":null}"#, .missingTimestamp),
            (#"{"ts":true}"#, .invalidTimestamp),
            (#"{"ts":"yesterday"}"#, .invalidTimestamp),
            (#"{"ts":[1]}"#, .invalidTimestamp),
            (#"{"ts":1e300}"#, .invalidTimestamp),
            // JSON errors win over field errors; field errors go in schema order.
            (#"{"score":"x","ts":1,"a":[}"#, .malformedJSON),
            (#"{"tag":{},"score":"x","ts":1}"#, .notANumber),
            (#"{"tag":{},"model":false,"ts":1}"#, .invalidModel),
            (#"{"score":"x","ts":"bad"}"#, .invalidTimestamp),
        ]
        for (json, expected) in table {
            #expect(reason(json) == expected, "\(json)")
        }
    }

    // MARK: - UTF-8

    @Test(arguments: [
        ([0xC3, 0xA9], true),  // é
        ([0xE2, 0x82, 0xAC], true),  // €
        ([0xF0, 0x9F, 0x98, 0x80], true),  // 😀
        ([0xEF, 0xBF, 0xBF], true),  // U+FFFF
        ([0xF4, 0x8F, 0xBF, 0xBF], true),  // U+10FFFF
        ([0xC0, 0x80], false),  // overlong NUL
        ([0xC1, 0xBF], false),  // overlong
        ([0xE0, 0x80, 0x80], false),  // overlong 3-byte
        ([0xE0, 0x9F, 0xBF], false),  // overlong 3-byte
        ([0xF0, 0x80, 0x80, 0x80], false),  // overlong 4-byte
        ([0xF0, 0x8F, 0xBF, 0xBF], false),  // overlong 4-byte
        ([0xED, 0xA0, 0x80], false),  // surrogate D800
        ([0xED, 0xBF, 0xBF], false),  // surrogate DFFF
        ([0xF4, 0x90, 0x80, 0x80], false),  // > U+10FFFF
        ([0xF5, 0x80, 0x80, 0x80], false),
        ([0xFF], false),
        ([0x80], false),  // lone continuation
        ([0xC3], false),  // truncated
        ([0xE2, 0x82], false),  // truncated
        ([0xC3, 0x41], false),  // bad continuation
    ] as [([UInt8], Bool)])
    func utf8Validation(sequence: [UInt8], valid: Bool) throws {
        for key in [false, true] {
            // In a skipped value, in a categorical value and in a key.
            let inner: [UInt8] = Array("ab".utf8) + sequence + Array("cd".utf8)
            let documents: [[UInt8]] = key
                ? [Array(#"{"ts":1,""#.utf8) + inner + Array(#"":2}"#.utf8)]
                : [Array(#"{"ts":1,"x":""#.utf8) + inner + Array(#""}"#.utf8),
                   Array(#"{"ts":1,"tag":""#.utf8) + inner + Array(#""}"#.utf8)]
            for document in documents {
                let (reason, batch) = decode(document)
                #expect(reason == (valid ? nil : .invalidUTF8), "\(sequence) key: \(key)")
                if valid && document.starts(with: Array(#"{"ts":1,"tag""#.utf8)) {
                    let bytes = batch.withBytes(batch.categorical[1][0]) { Array($0) }
                    #expect(bytes == inner)
                }
            }
        }
    }

    @Test func controlCharactersInStringsAreRejected() {
        for c: UInt8 in [0x00, 0x01, 0x0A, 0x0D, 0x1F] {
            let document = Array(#"{"ts":1,"x":"a"#.utf8) + [c] + Array(#"b"}"#.utf8)
            #expect(decode(document).0 == .malformedJSON)
        }
        #expect(reason("{\"ts\":1,\"x\":\"a\u{7F}b\"}") == nil)  // DEL is allowed
    }

    @Test func escapesAreUnescaped() throws {
        let (reason, batch) = decode(#"{"ts":1,"tag":"q\"b\\s\/ \b\f\n\r\t \u0041\u00e9\u20ac\ud83d\ude00 \u0000"}"#)
        #expect(reason == nil)
        let bytes = batch.withBytes(batch.categorical[1][0]) { Array($0) }
        let expected: [UInt8] = Array("q\"b\\s/ ".utf8) + [0x08, 0x0C, 0x0A, 0x0D, 0x09, 0x20]
            + Array("Aé€😀 ".utf8) + [0]
        #expect(bytes == expected)
    }

    // MARK: - Field kinds

    @Test(arguments: [
        ("0", 0.0), ("-0", -0.0), ("1", 1), ("-12.5", -12.5), ("1e2", 100), ("1E+2", 100), ("25e-1", 2.5),
        ("0.1", 0.1), ("1e-400", 0), ("-1e-400", -0.0), ("4.9e-324", Double.leastNonzeroMagnitude),
        ("1.7976931348623157e308", 1.7976931348623157e308), ("0.41991626498761686", 0.41991626498761686),
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("0.000000000000000000000000000001", 1e-30),
    ])
    func numericValues(text: String, expected: Double) throws {
        let (reason, batch) = decode(#"{"ts":1,"score":"# + text + "}")
        #expect(reason == nil)
        try #require(batch.count == 1)
        #expect(batch.numeric[1][0].bitPattern == expected.bitPattern, "\(text)")
    }

    @Test(arguments: [
        (#""DE""#, "DE"), ("true", "true"), ("false", "false"), ("3", "3"), ("-0", "-0"), ("3.50", "3.50"),
        ("1e2", "1e2"), (#""""#, ""), (#""a\tb""#, "a\tb"),
    ])
    func categoricalValues(json: String, expected: String) throws {
        let (reason, batch) = decode(#"{"ts":1,"tag":"# + json + "}")
        #expect(reason == nil)
        try #require(batch.count == 1)
        #expect(batch.string(batch.categorical[1][0]) == expected)
    }

    @Test(arguments: [(#""fraud-v3""#, "fraud-v3"), ("42", "42"), ("-7", "-7"), (#""""#, "")])
    func modelValues(json: String, expected: String) throws {
        let (reason, batch) = decode(#"{"ts":1,"model":"# + json + "}")
        #expect(reason == nil)
        try #require(batch.count == 1)
        #expect(batch.string(batch.models[0]) == expected)
    }

    @Test func modelAbsentOrNullIsDefault() {
        #expect(decode(#"{"ts":1}"#).1.models == [.missing])
        #expect(decode(#"{"ts":1,"model":null}"#).1.models == [.missing])
        let noModel = JSONEventDecoder(schema: EventSchema(timestamp: "ts", numeric: [], categorical: []))
        #expect(decode(#"{"ts":1,"model":{}}"#, with: noModel).1.models == [.missing])
    }

    @Test(arguments: [
        ("1764151200", Int64(1_764_151_200_000_000)),  // seconds
        ("1764151200.5", 1_764_151_200_500_000),
        ("1764151200.123456", 1_764_151_200_123_456),
        ("99999999999", 99_999_999_999_000_000),  // < 1e11: seconds
        ("100000000000", 100_000_000_000_000),  // 1e11: milliseconds
        ("1764151200123", 1_764_151_200_123_000),  // milliseconds
        ("1764151200123.25", 1_764_151_200_123_250),
        ("1.764151200123e12", 1_764_151_200_123_000),
        ("99999999999999", 99_999_999_999_999_000),  // < 1e14: milliseconds
        ("1764151200123456", 1_764_151_200_123_456),  // microseconds
        ("0", 0), ("-1", -1_000_000), ("-1.5", -1_500_000),
        (#""2026-11-26T10:00:00Z""#, 1_795_687_200_000_000),
        (#""2026-11-26t10:00:00z""#, 1_795_687_200_000_000),
        (#""2026-11-26T10:00:00.123456Z""#, 1_795_687_200_123_456),
        (#""2026-11-26T10:00:00.1Z""#, 1_795_687_200_100_000),
        (#""2026-11-26T10:00:00.1234567891Z""#, 1_795_687_200_123_456),
        (#""2026-11-26T12:30:00+02:30""#, 1_795_687_200_000_000),
        (#""2026-11-26T05:00:00-05:00""#, 1_795_687_200_000_000),
        (#""2026-11-26T10:00:00-00:00""#, 1_795_687_200_000_000),
        (#""1970-01-01T00:00:00Z""#, 0),
        (#""1969-12-31T23:59:59.999999Z""#, -1),
        (#""2024-02-29T00:00:00Z""#, 1_709_164_800_000_000),
        (#""2016-12-31T23:59:60Z""#, 1_483_228_800_000_000),  // leap second
        (#""2026-11-26T10:00:00\u005A""#, 1_795_687_200_000_000),  // escaped Z
        (#""0001-01-01T00:00:00Z""#, EventTime.earliest),
        (#""9999-12-31T23:59:59.999999Z""#, EventTime.latest),
        ("253402300799999999", EventTime.latest),  // microseconds
        ("-62135596800", EventTime.earliest),  // seconds
    ])
    func validTimestamps(json: String, expected: Int64) throws {
        let (reason, batch) = decode(#"{"ts":"# + json + "}")
        #expect(reason == nil, "\(json)")
        try #require(batch.count == 1)
        #expect(batch.timestamps[0] == expected, "\(json)")
    }

    @Test(arguments: [
        #""2026-13-01T00:00:00Z""#, #""2026-02-30T00:00:00Z""#, #""2025-02-29T00:00:00Z""#, #""2100-02-29T00:00:00Z""#,
        #""2026-04-31T00:00:00Z""#, #""2026-00-10T00:00:00Z""#, #""2026-01-00T00:00:00Z""#, #""2026-01-01T24:00:00Z""#,
        #""2026-01-01T00:60:00Z""#, #""2026-01-01T00:00:61Z""#, #""2026-01-01 00:00:00Z""#, #""2026-01-01T00:00:00""#,
        #""2026-01-01T00:00:00.Z""#, #""2026-01-01T00:00:00+0100""#, #""2026-01-01T00:00:00+24:00""#,
        #""2026-01-01T00:00:00+01:60""#, #""2026-01-01T00:00:00Zx""#, #""2026-1-01T00:00:00Z""#, #""2026-01-01""#,
        #""""#, #""1764151200""#, "4611686018427387904", "-4611686018427387904", "1e19", "true", "{}", "[]",
        "123456789012345678901234567890",
        // Outside the years RFC 3339 writes (0001-9999 accepted), also through an offset.
        #""0000-12-31T23:59:59Z""#, #""0001-01-01T00:30:00+01:00""#, #""9999-12-31T23:30:00-01:00""#,
        "253402300800000000", "-62135596801", "2.534023008e17",
    ])
    func invalidTimestamps(json: String) {
        #expect(reason(#"{"ts":"# + json + "}") == .invalidTimestamp, "\(json)")
    }

    @Test func eventTimeFunctions() {
        #expect(EventTime.fromEpochNumber(.nan) == nil)
        #expect(EventTime.fromEpochNumber(.infinity) == nil)
        #expect(EventTime.fromEpochNumber(1e11) == 100_000_000_000_000)
        #expect(EventTime.fromEpochNumber(253_402_300_799_999_968) == 253_402_300_799_999_968)
        #expect(EventTime.fromEpochNumber(253_402_300_800_000_000) == nil)
        #expect(EventTime.fromEpochNumber(-62_135_596_800) == EventTime.earliest)
        #expect(EventTime.fromEpochNumber(-62_135_596_801) == nil)
        #expect(EventTime.fromEpochNumber(4.7e18) == nil)
        #expect(EventTime.fromEpochInteger(Int64.min) == nil)
        #expect(EventTime.fromEpochInteger(Int64.max) == nil)
        let text = Array("2026-11-26T10:00:00.5+01:00".utf8)
        #expect(text.withUnsafeBytes { EventTime.parseRFC3339($0) } == 1_795_683_600_500_000)
        // Round trip with the result-record formatter.
        for t: Int64 in [0, 1_795_687_200_123_000, -86_400_000_000, 253_402_300_799_999_000] {
            let s = Array(TimestampFormat.rfc3339Milliseconds(t).utf8)
            #expect(s.withUnsafeBytes { EventTime.parseRFC3339($0) } == t)
        }
    }

    // MARK: - Limits

    @Test func longEventsAreRejectedWithoutScanning() {
        let d = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxEventBytes: 16))
        #expect(reason(#"{"ts":1,"x":"1"}"#, with: d) == nil)  // exactly 16 bytes
        #expect(reason(#"{"ts":1,"x":"12"}"#, with: d) == .lineTooLong)
        #expect(reason("{\"ts\":1,\"x\":\"\u{1}\u{1}\u{1}\u{1}\u{1}\"}", with: d) == .lineTooLong)
    }

    func nested(_ depth: Int, object: Bool) -> String {
        // `depth` containers inside the event object under key "x".
        var s = #"{"ts":1,"x":"#
        for _ in 0..<depth { s += object ? #"{"a":"# : "[" }
        s += "1"
        for _ in 0..<depth { s += object ? "}" : "]" }
        return s + "}"
    }

    @Test(arguments: [false, true])
    func nestingLimit(object: Bool) {
        // The event's object is level 1, so 63 more levels are allowed by default.
        #expect(reason(nested(63, object: object)) == nil)
        #expect(reason(nested(64, object: object)) == .nestingTooDeep)
        let d = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxDepth: 3))
        #expect(reason(nested(2, object: object), with: d) == nil)
        #expect(reason(nested(3, object: object), with: d) == .nestingTooDeep)
        #expect(reason("[[[[1]]]]", with: d) == .nestingTooDeep)
        #expect(reason("[[[1]]]", with: d) == .notAnObject)
    }

    @Test func nestingOnAConfiguredPathCounts() {
        let d = JSONEventDecoder(
            schema: EventSchema(timestamp: "ts", numeric: ["a.b.c"], categorical: []), limits: DecoderLimits(maxDepth: 2))
        #expect(reason(#"{"ts":1,"a":{"z":1}}"#, with: d) == nil)
        #expect(reason(#"{"ts":1,"a":{"b":{"c":1}}}"#, with: d) == .nestingTooDeep)
    }

    @Test func hugeDepthLimitIsFine() {
        let d = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxDepth: .max))
        #expect(reason(nested(100, object: true), with: d) == nil)
        let none = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxDepth: 0))
        #expect(reason(#"{"ts":1}"#, with: none) == .nestingTooDeep)
    }

    @Test func veryDeepNestingDoesNotUseTheStack() {
        let depth = 200_000
        let d = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxDepth: depth + 10, maxEventBytes: 1 << 22))
        #expect(reason(nested(depth, object: false), with: d) == nil)
        #expect(reason(nested(depth, object: true), with: d) == nil)
        #expect(reason(String(repeating: "[", count: depth), with: d) == .malformedJSON)
    }

    /// A random JSON value and its depth (containers count one level each).
    func randomValue(_ rng: inout RNG, depth: Int, maxDepth: Int) -> (String, Int) {
        let choice = depth >= maxDepth ? rng.next() % 4 : rng.next() % 10
        switch choice {
        case 0: return (["1", "-0.5e-3", "12345678901234567890", "0"][Int(rng.next() % 4)], 0)
        case 1: return (#""s\u00e9\n""#, 0)
        case 2: return (["true", "false", "null"][Int(rng.next() % 3)], 0)
        case 3: return ("[]", 1)
        case 4, 5, 6:
            var parts: [String] = []
            var deepest = 0
            for _ in 0..<Int(1 + rng.next() % 3) {
                let (v, d) = randomValue(&rng, depth: depth + 1, maxDepth: maxDepth)
                parts.append(v)
                deepest = max(deepest, d)
            }
            return ("[" + parts.joined(separator: rng.next() % 2 == 0 ? "," : " , ") + "]", deepest + 1)
        default:
            var parts: [String] = []
            var deepest = 0
            for k in 0..<Int(rng.next() % 4) {
                let (v, d) = randomValue(&rng, depth: depth + 1, maxDepth: maxDepth)
                parts.append("\"k\(k)\": " + v)
                deepest = max(deepest, d)
            }
            return ("{" + parts.joined(separator: ",") + "}", deepest + 1)
        }
    }

    @Test func randomNesting() {
        var rng = RNG(seed: 11)
        let d = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxDepth: 6))
        var accepted = 0, tooDeep = 0
        for _ in 0..<3000 {
            let (value, depth) = randomValue(&rng, depth: 0, maxDepth: 9)
            let json = #"{"ts":1,"x":"# + value + "}"
            let expected: RejectReason? = 1 + depth > 6 ? .nestingTooDeep : nil
            #expect(reason(json, with: d) == expected, "\(json)")
            if expected == nil { accepted += 1 } else { tooDeep += 1 }
        }
        #expect(accepted > 300 && tooDeep > 300, "accepted \(accepted), too deep \(tooDeep)")
    }

    // MARK: - Robustness

    static let validEvents = [
        #"{"ts":1764151199915,"model":"fraud-v3","request_id":"1d4bb7492ffa79b3","features":{"amount":200.92,"country":"ES","z":[1,{"q":null}]},"score":0.2359257221493931,"tag":true}"#,
        #"{"ts":"2026-11-26T10:00:00.123+01:00","model":7,"features":{"amount":-1.5e-7,"country":"\u00e9\ud83d\ude00"},"tag":"a\"b"}"#,
        "{ \"ts\" : 1 ,\n \"score\" : 12345678901234567890123 , \"x\" : \"é€😀\" }",
    ]

    @Test(arguments: validEvents)
    func truncationAtEveryOffsetIsRejected(json: String) {
        let bytes = Array(json.utf8)
        #expect(decode(bytes).0 == nil)
        for n in 0..<bytes.count {
            let (reason, batch) = decode(Array(bytes[0..<n]))
            #expect(reason != nil, "prefix \(n)")
            #expect(batch.count == 0 && batch.bytes.isEmpty)
        }
    }

    @Test func randomCorruptionNeverCrashes() {
        var rng = RNG(seed: 5)
        let interesting: [UInt8] = Array(#"{}[]",:\-+.eE0123456789tfnu "#.utf8) + [0x00, 0x80, 0xC3, 0xED, 0xF4, 0xFF]
        var outcomes: [RejectReason?: Int] = [:]
        for k in 0..<20_000 {
            var bytes = Array(Self.validEvents[k % Self.validEvents.count].utf8)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = interesting[Int(rng.next() % UInt64(interesting.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
                }
            }
            let (reason, batch) = decode(bytes)
            outcomes[reason, default: 0] += 1
            #expect(batch.count == (reason == nil ? 1 : 0))
        }
        #expect(outcomes.count > 5)
    }

    @Test func rejectionRollsTheBatchBack() {
        var batch = EventBatch(numericCount: 2, categoricalCount: 2)
        func run(_ json: String) -> RejectReason? {
            Array(json.utf8).withUnsafeBytes { decoder.decode($0, position: 1, into: &batch) }
        }
        #expect(run(#"{"ts":1,"model":"m","features":{"amount":1,"country":"DE"},"tag":"x"}"#) == nil)
        let before = (batch.timestamps, batch.models, batch.numeric, batch.categorical, batch.positions, batch.bytes)
        // Each of these appends arena bytes (model, country, tag) before it fails.
        let rejected = [
            #"{"ts":1,"model":"mm","features":{"amount":1,"country":"FR"},"tag":"y","x":[}"#,
            #"{"ts":1,"model":"mm","features":{"country":"FR"},"tag":"y","score":"s"}"#,
            #"{"model":"mm","features":{"country":"FR"},"tag":"y"}"#,
            #"{"ts":1,"model":"mm","tag":"y","features":{"country":"FR"},"score":1e999}"#,
            #"{"ts":1,"model":"mm","tag":"y","x":"\ud800"}"#,
        ]
        for json in rejected {
            #expect(run(json) != nil)
            #expect(batch.timestamps == before.0 && batch.models == before.1 && batch.positions == before.4)
            #expect(batch.numeric == before.2 && batch.categorical == before.3 && batch.bytes == before.5)
        }
        #expect(run(#"{"ts":2,"tag":"z"}"#) == nil)
        #expect(batch.count == 2)
        #expect(batch.string(batch.categorical[1][1]) == "z")
        #expect(batch.string(batch.models[0]) == "m")
    }

    // MARK: - Lines

    @Test func decodeLinesHandlesLFCRLFAndBlankLines() {
        let text = "{\"ts\":1}\r\n\n  \r\n{\"ts\":2,\"score\":\"x\"}\n{\"ts\":3}\n\t\n{\"ts\":4}"
        var batch = EventBatch(numericCount: 2, categoricalCount: 2)
        var rejects: [(Int64, RejectReason, String)] = []
        let result = Array(text.utf8).withUnsafeBytes { raw in
            decoder.decodeLines(raw, firstLine: 10, into: &batch) { line, reason, bytes in
                rejects.append((line, reason, String(decoding: bytes, as: UTF8.self)))
            }
        }
        #expect(result.accepted == 3 && result.rejected == 1 && result.blank == 3)
        #expect(batch.positions == [10, 14, 16])
        #expect(batch.timestamps == [1_000_000, 3_000_000, 4_000_000])
        #expect(rejects.count == 1)
        #expect(rejects.first?.0 == 13 && rejects.first?.1 == .notANumber && rejects.first?.2 == "{\"ts\":2,\"score\":\"x\"}")
    }

    @Test func decodeLinesWithTrailingNewlineAndEmptyBuffer() {
        var batch = EventBatch(numericCount: 2, categoricalCount: 2)
        let r = Array("{\"ts\":1}\n".utf8).withUnsafeBytes {
            decoder.decodeLines($0, firstLine: 1, into: &batch) { _, _, _ in }
        }
        #expect(r.accepted == 1 && r.rejected == 0 && r.blank == 0)
        let empty = [UInt8]().withUnsafeBytes { decoder.decodeLines($0, firstLine: 1, into: &batch) { _, _, _ in } }
        #expect(empty.accepted == 0 && empty.rejected == 0 && empty.blank == 0)
        let d = JSONEventDecoder(schema: Self.schema, limits: DecoderLimits(maxEventBytes: 8))
        var reasons: [RejectReason] = []
        _ = Array("{\"ts\":1}\r\n{\"ts\":12}\n".utf8).withUnsafeBytes {
            d.decodeLines($0, firstLine: 1, into: &batch) { _, reason, _ in reasons.append(reason) }
        }
        #expect(reasons == [.lineTooLong])  // the CR does not count
    }

    /// With `rejectingBlankLines`, blank lines are rejected as `decode` rejects them, in line
    /// order with the other rejections, so accepted + rejected is every line.
    @Test func decodeLinesCanRejectBlankLines() {
        let text = "\r\n{\"ts\":1}\n \t \r\n{\"ts\":\"x\"}\n\n{\"ts\":2}\r"
        var batch = EventBatch(numericCount: 2, categoricalCount: 2)
        var rejects: [(Int64, RejectReason, String)] = []
        let result = Array(text.utf8).withUnsafeBytes { raw in
            decoder.decodeLines(raw, firstLine: 1, into: &batch, rejectingBlankLines: true) { line, reason, bytes in
                rejects.append((line, reason, String(decoding: bytes, as: UTF8.self)))
            }
        }
        #expect(result.accepted == 2 && result.rejected == 4 && result.blank == 0)
        #expect(rejects.map(\.0) == [1, 3, 4, 5])
        #expect(rejects.map(\.1) == [.emptyLine, .emptyLine, .invalidTimestamp, .emptyLine])
        #expect(rejects.map(\.2) == ["", " \t ", "{\"ts\":\"x\"}", ""])
        #expect(batch.positions == [2, 6])
        // The same lines one at a time.
        for line in ["", " \t "] {
            #expect(Array(line.utf8).withUnsafeBytes { decoder.decode($0, position: 0, into: &batch) } == .emptyLine)
        }
    }

    /// An error thrown by `reject` stops decoding and comes out of `decodeLines`.
    @Test func decodeLinesRethrowsFromReject() {
        struct Stop: Error {}
        let text = "{\"ts\":1}\n{\"ts\":\"x\"}\n{\"ts\":2}\n{\"ts\":\"y\"}\n"
        var batch = EventBatch(numericCount: 2, categoricalCount: 2)
        var seen: [Int64] = []
        #expect(throws: Stop.self) {
            _ = try Array(text.utf8).withUnsafeBytes { raw in
                try decoder.decodeLines(raw, firstLine: 1, into: &batch) { line, _, _ in
                    seen.append(line)
                    throw Stop()
                }
            }
        }
        #expect(seen == [2])
    }

    /// `decodeLines` stages rows in blocks; the batch must come out exactly as decoding the
    /// lines one by one does, across several blocks and with rejections in between.
    @Test func decodeLinesMatchesDecodePerLine() {
        var rng = RNG(seed: 4_096)
        var lines: [String] = []
        for k in 0..<300 {
            let amount = k % 7 == 0 ? "null" : String(Double(rng.next() % 100_000) / 100)
            let score = k % 11 == 0 ? "\"x\"" : "0.\(rng.next() % 1_000_000)"
            let country = k % 5 == 0 ? "true" : "\"C\\u00e9\(k % 13)\""
            switch k % 9 {
            case 0: lines.append("")
            case 1: lines.append(" { \"ts\" : \(k) , \"score\" : \(score) , \"tag\" : \"t\(k)\" } ")
            case 2: lines.append("{\"ts\":\(k),\"model\":\"m\(k % 3)\",\"features\":{\"amount\":\(amount)")
            default:
                lines.append(
                    "{\"ts\":\(k),\"model\":\"m\(k % 3)\",\"id\":\"abc\",\"n\":-1.5e3,\"features\":{\"amount\":\(amount),"
                        + "\"country\":\(country),\"z\":[1,{\"a\":2}]},\"score\":\(score),\"tag\":\"t\(k)\"}")
            }
        }
        let text = Array(lines.joined(separator: "\n").utf8)
        var linesBatch = EventBatch(numericCount: 2, categoricalCount: 2)
        var linesRejects: [(Int64, RejectReason)] = []
        let result = text.withUnsafeBytes { raw in
            decoder.decodeLines(raw, firstLine: 5, into: &linesBatch) { line, reason, _ in linesRejects.append((line, reason)) }
        }
        var oneBatch = EventBatch(numericCount: 2, categoricalCount: 2)
        var oneRejects: [(Int64, RejectReason)] = []
        var accepted = 0, blank = 0
        for (n, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == " " }) { blank += 1; continue }
            let reason = Array(line.utf8).withUnsafeBytes { decoder.decode($0, position: Int64(5 + n), into: &oneBatch) }
            if let reason { oneRejects.append((Int64(5 + n), reason)) } else { accepted += 1 }
        }
        #expect(accepted > 2 * 64)
        #expect(result.accepted == accepted && result.rejected == oneRejects.count && result.blank == blank)
        #expect(linesRejects.map(\.0) == oneRejects.map(\.0) && linesRejects.map(\.1) == oneRejects.map(\.1))
        #expect(linesBatch.timestamps == oneBatch.timestamps)
        #expect(linesBatch.positions == oneBatch.positions)
        #expect(linesBatch.models.map(linesBatch.string) == oneBatch.models.map(oneBatch.string))
        #expect(linesBatch.numeric.map { $0.map(\.bitPattern) } == oneBatch.numeric.map { $0.map(\.bitPattern) })
        #expect(
            linesBatch.categorical.map { $0.map(linesBatch.string) } == oneBatch.categorical.map { $0.map(oneBatch.string) })
        // A run of lines stores a repeated short value once (equal ranges, fewer arena bytes);
        // single events each store their own.
        #expect(Set(linesBatch.models.filter { !$0.isMissing }).count == 3)
        #expect(linesBatch.bytes.count < oneBatch.bytes.count)
    }

    /// Keys are matched as `"key":` patterns of at most 24 bytes (keys of up to 21 bytes),
    /// learned per member position; longer keys, keys with escapes and keys spaced from
    /// their colon take the scanning path. Every form, mixed within one run of lines, must
    /// give the values a line-by-line decode gives, and the values written.
    @Test func keyPatternsOfEveryLengthAndSpacing() {
        let k20 = String(repeating: "a", count: 20), k21 = String(repeating: "b", count: 21)
        let k22 = String(repeating: "c", count: 22)
        let schema = EventSchema(
            timestamp: "ts", model: nil, numeric: ["o.\(k20)", "o.\(k21)", "o.\(k22)"], categorical: ["o.\(k21)x"])
        let d = JSONEventDecoder(schema: schema)
        var lines: [String] = []
        var expected: [[Double]] = []
        for n in 0..<200 {
            let (x, y, z) = (Double(n), Double(n) + 0.5, -Double(n))
            let members: [(String, String)] = [
                (k20, "\(x)"), ("\(k22)u", "[1]"), (k21, "\(y)"), (k22, "\(z)"), ("\(k21)x", "\"c\(n % 3)\""),
                ("\(k20)v", "{\"q\":1}"),
            ]
            // The same member order in every line, written four ways.
            let body: String
            switch n % 4 {
            case 0: body = members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
            case 1: body = members.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
            case 2: body = members.map { "\"\($0.0)\" :\($0.1)" }.joined(separator: " ,")
            default: body = members.map { "\"\($0.0.replacingOccurrences(of: "a", with: "\\u0061"))\":\($0.1)" }.joined(separator: ",")
            }
            lines.append("{\"ts\":\(n + 1),\"o\":{\(body)}}")
            expected.append([x, y, z])
        }
        let text = Array(lines.joined(separator: "\n").utf8)
        var linesBatch = EventBatch(numericCount: 3, categoricalCount: 1)
        let result = text.withUnsafeBytes { raw in
            d.decodeLines(raw, firstLine: 1, into: &linesBatch) { _, _, _ in }
        }
        #expect(result.accepted == 200 && result.rejected == 0)
        var oneBatch = EventBatch(numericCount: 3, categoricalCount: 1)
        for line in lines {
            #expect(Array(line.utf8).withUnsafeBytes { d.decode($0, position: 0, into: &oneBatch) } == nil)
        }
        for f in 0..<3 {
            #expect(linesBatch.numeric[f] == expected.map { $0[f] })
            #expect(oneBatch.numeric[f] == expected.map { $0[f] })
        }
        #expect(linesBatch.categorical[0].map(linesBatch.string) == (0..<200).map { "c\($0 % 3)" })
        #expect(linesBatch.timestamps == oneBatch.timestamps)
    }

    /// A string value equal to one of its field's recent values is matched against them
    /// before being scanned. Values that are prefixes or extensions of cached ones, escaped
    /// forms of them, empty and non-ASCII values, and values too long to cache must all come
    /// out as written.
    @Test func recentStringValuesAreMatchedExactly() {
        let values = [
            "mobile", "mobile2", "mob", "", "mobile", "é", "mob\\u0069le", "0123456789abcdef", "0123456789abcdefg",
            "0123456789abcdef", "mobile ", "\\\"q", "mobile", "é", "ée",
        ]
        let unescaped = [
            "mobile", "mobile2", "mob", "", "mobile", "é", "mobile", "0123456789abcdef", "0123456789abcdefg",
            "0123456789abcdef", "mobile ", "\"q", "mobile", "é", "ée",
        ]
        var lines: [String] = []
        var expected: [String] = []
        for n in 0..<150 {
            let k = (n * 7) % values.count
            lines.append("{\"ts\":\(n + 1),\"model\":\"m\",\"features\":{\"country\":\"\(values[k])\"},\"tag\":\"\(values[(k + 3) % values.count])\"}")
            expected.append(unescaped[k] + "|" + unescaped[(k + 3) % values.count])
        }
        let text = Array(lines.joined(separator: "\n").utf8)
        var batch = EventBatch(numericCount: 2, categoricalCount: 2)
        let result = text.withUnsafeBytes { raw in decoder.decodeLines(raw, firstLine: 1, into: &batch) { _, _, _ in } }
        #expect(result.accepted == 150)
        let decoded = zip(batch.categorical[0], batch.categorical[1]).map {
            (batch.string($0) ?? "missing") + "|" + (batch.string($1) ?? "missing")
        }
        #expect(decoded == expected)
    }

    /// `decodeLines` scans a line before knowing where it ends; an object that only parses
    /// across a line feed, trailing spaces, CR LF, a CR at the very end and a line longer
    /// than the limit must still be judged line by line, as `decode` judges each line.
    @Test(arguments: [
        "{\"ts\":1,\n\"score\":2}\n{\"ts\":3}",
        "{\"ts\":1}\r\n{\"ts\":2} \n {\"ts\":3}\t\r\n{\"ts\":4}\r",
        "{\"ts\":1,\"score\":\n2}\n{\"ts\":2,\"tag\":\"a\nb\"}\n{\"ts\":5}\n",
        "{\"ts\":1}{\"ts\":2}\n{\"ts\":3}\n\n{\"ts\":4,\"model\":\"m\"}\r\r\n",
        "{\"ts\":1,\"tag\":\"" + String(repeating: "x", count: 200) + "\"}\n{\"ts\":2}",
    ])
    func decodeLinesJudgesEachLineAlone(text: String) {
        let small = JSONEventDecoder(schema: decoder.schema, limits: DecoderLimits(maxEventBytes: 100))
        var linesBatch = EventBatch(numericCount: 2, categoricalCount: 2)
        var linesRejects: [(Int64, RejectReason)] = []
        let result = Array(text.utf8).withUnsafeBytes { raw in
            small.decodeLines(raw, firstLine: 1, into: &linesBatch, rejectingBlankLines: true) { line, reason, _ in
                linesRejects.append((line, reason))
            }
        }
        var oneBatch = EventBatch(numericCount: 2, categoricalCount: 2)
        var oneRejects: [(Int64, RejectReason)] = []
        // Split bytes, not characters: CR LF is one Character.
        var lines = Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last == [] { lines.removeLast() }
        for (n, line) in lines.enumerated() {
            var bytes = line
            if bytes.last == 0x0D { bytes.removeLast() }
            let reason = bytes.withUnsafeBytes { small.decode($0, position: Int64(1 + n), into: &oneBatch) }
            if let reason { oneRejects.append((Int64(1 + n), reason)) }
        }
        #expect(result.accepted + result.rejected == lines.count)
        #expect(linesRejects.map(\.0) == oneRejects.map(\.0) && linesRejects.map(\.1) == oneRejects.map(\.1))
        #expect(linesBatch.timestamps == oneBatch.timestamps && linesBatch.positions == oneBatch.positions)
        #expect(linesBatch.numeric.map { $0.map(\.bitPattern) } == oneBatch.numeric.map { $0.map(\.bitPattern) })
    }

    /// Numbers at keys that are not configured are validated without being converted.
    @Test(arguments: [
        ("0", true), ("-0", true), ("12345678901234567890123", true), ("-1.5e+300", true), ("1E-7", true),
        ("0.000000000000000000001", true), ("123456789.123456789e12", true), ("9", true),
        ("01", false), ("-", false), ("1.", false), ("1e", false), ("1e+", false), (".5", false), ("-.5", false),
        ("+1", false), ("1.e5", false), ("0x1", false), ("1.5e5.5", false), ("--1", false), ("123456789012a", false),
    ])
    func skippedNumbersFollowTheGrammar(text: String, valid: Bool) {
        let plain = reason(#"{"ts":1,"other":"# + text + "}")
        let nested = reason(#"{"ts":1,"z":[{"a":["# + text + "]}]}")
        let last = reason(#"{"ts":1,"other":"# + text)
        #expect(plain == (valid ? nil : .malformedJSON))
        #expect(nested == (valid ? nil : .malformedJSON))
        #expect(last == .malformedJSON)
    }

    // MARK: - Numbers against strtod

    /// Random and tricky decimal strings: repr-style 17-digit doubles, 17–19-digit mantissas,
    /// near-halfway values, subnormals, long mantissas, exponent extremes, signed exponents.
    static func randomNumberText(_ rng: inout RNG) -> String {
        let sign = rng.next() % 2 == 0 ? "" : "-"
        func digits(_ n: Int) -> String {
            var d = String(1 + rng.next() % 9)
            for _ in 1..<max(n, 1) { d += String(rng.next() % 10) }
            return d
        }
        switch rng.next() % 8 {
        case 0:
            return sign + "\(Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF))"
        case 1:
            var d = digits(17 + Int(rng.next() % 3))
            d.insert(".", at: d.index(d.startIndex, offsetBy: 1 + Int(rng.next() % 16)))
            return sign + d + "e" + (rng.next() % 2 == 0 ? "+" : "-") + String(rng.next() % 330)
        case 2:
            // Near the midpoint between two neighbouring doubles.
            let x = Double(bitPattern: (rng.next() % 0x7FE0_0000_0000_0000) | 1)
            return sign + "\(x / 2 + x.nextUp / 2)" + String(rng.next() % 10) + String(rng.next() % 10)
        case 3:
            return sign + "\(Double(bitPattern: rng.next() % 0x0010_0000_0000_0000))"
        case 4:
            return sign + "0." + digits(20 + Int(rng.next() % 21)) + "e" + String(Int(rng.next() % 600) - 300)
        case 5:
            return sign + String(rng.next() >> (rng.next() % 64))
        case 6:
            return sign + String(rng.next() % 100_000) + "." + String(rng.next() % 1_000_000) + "E"
                + String(Int(rng.next() % 45) - 22)
        default:
            let e = [-400, -345, -343, -342, -325, -324, -323, -308, -307, 307, 308, 309, 400][Int(rng.next() % 13)]
            return sign + String(1 + rng.next() % 9) + "." + String(rng.next() % 1_000_000_000_000_000) + "e" + String(e)
        }
    }

    static let trickyNumbers = [
        "0", "-0", "0.0", "-0.0e5", "1e-400", "-1e-400", "2.2250738585072011e-308", "2.2250738585072012e-308",
        "2.2250738585072014e-308", "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "9007199254740993",
        "9007199254740992.5", "9007199254740993.0000000000000000001", "0.1", "0.30000000000000004", "1E+2", "1e-7",
        "123456789012345678901234567890", "7.038531e-26", "8.988465674311579e307", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124", "1.00000000000000011102230246251565404236316680908203126",
        "0.000000000000000000000000000000000000000000001e300", "1e22", "1e23", "9999999999999999999", "18446744073709551615",
        "18446744073709551616", "0.1e-0", "100000000000000000000000e-4",
    ]

    @Test func numbersMatchStrtod() {
        var rng = RNG(seed: 2026)
        let d = JSONEventDecoder(schema: EventSchema(timestamp: "t", numeric: ["x"], categorical: []))
        var batch = EventBatch(numericCount: 1, categoricalCount: 0)
        var mismatches: [String] = []
        let count = 300_000
        var event: [UInt8] = []
        event.reserveCapacity(128)
        for k in 0..<count {
            let text = k < Self.trickyNumbers.count ? Self.trickyNumbers[k] : Self.randomNumberText(&rng)
            let expected = strtod(text, nil)
            event.removeAll(keepingCapacity: true)
            event += Array(#"{"t":1,"x":"#.utf8)
            event += Array(text.utf8)
            event.append(UInt8(ascii: "}"))
            batch.removeAll()
            let reason = event.withUnsafeBytes { d.decode($0, position: 0, into: &batch) }
            if expected.isInfinite {
                if reason != .numberOutOfRange { mismatches.append(text) }
            } else if reason != nil || batch.numeric[0][0].bitPattern != expected.bitPattern {
                mismatches.append(text)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// Numbers followed by more bytes, so that the 8-byte digit loads (and the unchecked
    /// tail after them) run instead of the checked byte loop near the end of the event.
    @Test(arguments: [
        #","pad":"abcdefghijklmnop"}"#, #","y":12345678901234567890}"#, "  }",
        #","pad":"abcdefghijklmnopqrstuvwxyz0123456789"}"#, String(repeating: " ", count: 40) + "}",
    ])
    func numbersMatchStrtodBeforeMoreBytes(suffix: String) {
        var rng = RNG(seed: 4242)
        let d = JSONEventDecoder(schema: EventSchema(timestamp: "t", numeric: ["x"], categorical: []))
        var batch = EventBatch(numericCount: 1, categoricalCount: 0)
        var mismatches: [String] = []
        for k in 0..<60_000 {
            var text: String
            if k < Self.trickyNumbers.count {
                text = Self.trickyNumbers[k]
            } else if k % 2 == 0 {
                text = Self.randomNumberText(&rng)
            } else {
                // Every length 1...40 with the point anywhere: every split between 8-digit runs,
                // the short tail after them and the 19-digit limit.
                let n = 1 + Int(rng.next() % 40)
                text = String(1 + rng.next() % 9)
                for _ in 1..<n { text += String(rng.next() % 10) }
                let at = 1 + Int(rng.next() % UInt64(n))
                if at < n { text.insert(".", at: text.index(text.startIndex, offsetBy: at)) }
                if rng.next() % 3 == 0 { text = "0.000" + text.filter { $0 != "." } }
                if rng.next() % 3 == 0 { text += "e" + String(Int(rng.next() % 80) - 40) }
            }
            let expected = strtod(text, nil)
            let event = Array((#"{"t":1,"x":"# + text + suffix).utf8)
            batch.removeAll()
            let reason = event.withUnsafeBytes { d.decode($0, position: 0, into: &batch) }
            if expected.isInfinite {
                if reason != .numberOutOfRange { mismatches.append(text) }
            } else if reason != nil || batch.numeric[0][0].bitPattern != expected.bitPattern {
                mismatches.append(text)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// Numbers the word-at-a-time scan of plain decimals must leave to the full scan (or
    /// reject, as it does), each followed by enough bytes for that scan to run, negative
    /// or not: every event decodes as strtod reads the number, or is rejected as malformed.
    @Test(arguments: [
        "0", "7", "1234567", "12345678", "0.5", "00", "01", "01.5", "0.", "1.", ".5", "1.e5", "1.5e3", "1.5E-3", "15e2",
        "1.5.5", "1..5", "0.0000000000000000001", "0.00000000000000000001", "1234567.123456789012", "1234567.1234567890123",
        "0.1234567890123456789", "0.12345678901234567891", "9.999999999999999999", "1.0000000000000000000",
        "0.000000000000000000", "1234567.000000000000", "12.12345678", "12.1234567", "12.123456789012345",
        "12.1234567890123456", "1.2345678901234567", "9999999.9999999999999", "12345678", "123456789012345",
        "1234567890123456", "012345678", "123456789012345.5", "12345678901234.12345", "12345678901234.123456",
        "99999999.99999999999", "10000000.0000000001", "1234567.12345678901234", "5e", "1-", "1.5-2", "2.", "-", "--1", "-0", "-0.0",
    ])
    func plainDecimalsAndTheirNeighbours(number: String) {
        let d = JSONEventDecoder(schema: EventSchema(timestamp: "t", numeric: ["x"], categorical: []))
        for text in [number, "-" + number] {
            var batch = EventBatch(numericCount: 1, categoricalCount: 0)
            let event = Array((#"{"t":1,"x":"# + text + #","pad":"abcdefghijklmnopqrstuvwxyz0123456789"}"#).utf8)
            let reason = event.withUnsafeBytes { d.decode($0, position: 0, into: &batch) }
            // What strtod reads of the text must be all of it for a valid JSON number.
            var endPointer: UnsafeMutablePointer<CChar>? = nil
            let expected = text.withCString { c -> Double? in
                let x = strtod(c, &endPointer)
                return endPointer.map { $0 - UnsafeMutablePointer(mutating: c) } == text.utf8.count ? x : nil
            }
            let isJSONNumber = text.wholeMatch(of: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/) != nil
            if isJSONNumber, let expected {
                #expect(reason == nil, "\(text)")
                #expect(batch.numeric[0].first?.bitPattern == expected.bitPattern, "\(text)")
            } else {
                #expect(reason == .malformedJSON, "\(text)")
            }
        }
    }

    /// A timestamp scanned a word at a time (followed by enough bytes) is read exactly as the
    /// full scan reads it (near the end of the event): seconds, milliseconds and microseconds,
    /// fractions, exponents, out-of-range and malformed values.
    @Test(arguments: [
        "1764151199307", "1764151199", "1764151199307123", "176415119930712", "-1764151199307", "0", "-0", "1764151199.5",
        "1764151199307.25", "1.764151199307e12", "017641511993", "99999999999999", "999999999999999", "1e3", "-", "1.",
    ])
    func timestampsScannedWordAtATimeAsInFull(text: String) {
        let d = JSONEventDecoder(schema: EventSchema(timestamp: "t", numeric: ["x"], categorical: []))
        func decode(_ json: String) -> (RejectReason?, [Int64]) {
            var batch = EventBatch(numericCount: 1, categoricalCount: 0)
            let reason = Array(json.utf8).withUnsafeBytes { d.decode($0, position: 0, into: &batch) }
            return (reason, batch.timestamps)
        }
        let padded = decode(#"{"x":1,"t":"# + text + #","pad":"abcdefghijklmnopqrstuvwxyz0123456789"}"#)
        let full = decode(#"{"x":1,"t":"# + text + "}")
        #expect(padded.0 == full.0 && padded.1 == full.1, "\(text): \(padded) vs \(full)")
        let known: [String: Int64] = [
            "1764151199307": 1_764_151_199_307_000, "1764151199": 1_764_151_199_000_000,
            "1764151199307123": 1_764_151_199_307_123, "1764151199.5": 1_764_151_199_500_000,
        ]
        if let micros = known[text] { #expect(padded.0 == nil && padded.1 == [micros]) }
    }

    @Test func eiselLemireAgreesWithStrtodOnDirectMantissas() {
        // The conversion core without the scanner: w × 10^q for random 64-bit w.
        var rng = RNG(seed: 99)
        var mismatches = 0
        for _ in 0..<50_000 {
            let w = rng.next() >> (rng.next() % 40)
            let q = Int(rng.next() % 700) - 350
            let text = "\(w)e\(q)"
            let expected = strtod(text, nil)
            let got = Array(text.utf8).withUnsafeBytes {
                DecimalToDouble.convert(mantissa: w, exponent: q, negative: false, truncated: false, text: $0)
            }
            if got.bitPattern != expected.bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
