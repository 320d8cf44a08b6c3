import DriftCore
import Foundation
import Testing

@Suite struct JSONObjectWriterTests {
    @Test(arguments: [
        ("features.amount", #""features.amount""#),
        ("", #""""#),
        ("Zürich €", #""Zürich €""#),
        (#"say "hi""#, #""say \"hi\"""#),
        (#"back\slash"#, #""back\\slash""#),
        ("tab\tnew\nline\rcr", #""tab\tnew\nline\rcr""#),
        ("\u{01}\u{1F}", #""\u0001\u001f""#),
    ])
    func quotesAsRFC8259(_ value: String, _ expected: String) throws {
        var out = "x"
        JSONObjectWriter.appendQuoted(value, to: &out)
        #expect(out == "x" + expected)
        let parsed = try JSONSerialization.jsonObject(with: Data(expected.utf8), options: .fragmentsAllowed) as? String
        #expect(parsed == value)
    }
}
