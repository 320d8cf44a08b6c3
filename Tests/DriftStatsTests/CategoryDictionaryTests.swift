import Testing

@testable import DriftStats

@Suite struct CategoryDictionaryTests {
    @Test func byteLookupAgreesWithStringLookup() {
        var counter = CategoryCounter()
        // 300 distinct values with skewed counts; the top 50 form the dictionary and a
        // membership filter remembers the rest.
        for i in 0..<300 {
            for _ in 0..<(300 - i) { counter.add("value-\(i)") }
        }
        counter.add("é-ü-漢字")
        let (dictionary, _) = counter.dictionary(topK: 50)
        #expect(!dictionary.isComplete)
        let probes = (0..<400).map { "value-\($0)" } + ["", "é-ü-漢字", "never seen", "value-1 "]
        for probe in probes {
            var s = probe
            let byBytes = s.withUTF8 { dictionary.code(ofUTF8: UnsafeRawBufferPointer($0)) }
            #expect(byBytes == dictionary.code(of: probe), "\(probe)")
        }
        #expect(dictionary.code(of: "value-0") == 0)
        #expect(dictionary.code(of: "value-120") == dictionary.otherCode)
        #expect(dictionary.code(of: "never seen") == dictionary.unseenCode)
    }

    @Test func emptyDictionaryCountsEverythingAsUnseen() {
        let dictionary = CategoryDictionary(categories: [])
        var s = "x"
        #expect(s.withUTF8 { dictionary.code(ofUTF8: UnsafeRawBufferPointer($0)) } == dictionary.unseenCode)
    }
}
