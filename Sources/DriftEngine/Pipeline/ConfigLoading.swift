import DriftCore
import Foundation

extension DriftlineConfig {
    /// Reads a config file, and registers the values of its secret Kafka properties with
    /// ``SecretRedaction`` so that nothing printed afterwards shows them.
    ///
    /// - Throws: ``ConfigError`` or ``FileError`` with a one-line reason.
    public init(contentsOf path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FileError("cannot read config \(path): \((error as NSError).localizedDescription)")
        }
        do {
            try self.init(yaml: text)
        } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.message.hasPrefix("config: ") ? String(error.message.dropFirst(8)) : error.message)")
        }
        configDirectory = (path as NSString).deletingLastPathComponent
        SecretRedaction.register(kafka.properties)
    }

    /// A path from the config, resolved against the config file's directory.
    public func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || configDirectory.isEmpty { return path }
        return (configDirectory as NSString).appendingPathComponent(path)
    }

    public var binning: BinningSettings {
        BinningSettings(psiBins: reference.psiBins, ksBins: reference.ksBins, topK: reference.topK)
    }

    /// Loads and checks the profile the config names, or `nil` for a stream reference.
    public func loadProfile() throws -> ReferenceProfile? {
        guard let relative = reference.profile else { return nil }
        let path = resolve(relative)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError("cannot read profile \(path) (run `driftline profile` to create it)")
        }
        let profile: ReferenceProfile
        do {
            profile = try ReferenceProfile(fileBytes: [UInt8](data))
        } catch {
            throw FileError("\(path): \(error)")
        }
        do {
            try profile.validate(schema: input, binning: binning)
        } catch {
            throw ConfigError("\(path) does not match the config: \(error)")
        }
        return profile
    }
}
