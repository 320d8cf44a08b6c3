import Foundation

/// Locates the committed golden-value files in `Fixtures/golden/`.
///
/// The files are produced by the Python scripts next to them (numpy/scipy) and
/// committed, so `swift test` needs no Python. Tests find them relative to this
/// source file, which works from any checkout.
enum Golden {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // DriftStatsTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("Fixtures/golden", isDirectory: true)

    /// Reads and decodes one golden JSON file.
    static func load<T: Decodable>(_ type: T.Type, from name: String) throws -> T {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        let decoder = JSONDecoder()
        // JSON has no NaN or infinity: the scripts write them as these strings.
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(T.self, from: data)
    }
}
