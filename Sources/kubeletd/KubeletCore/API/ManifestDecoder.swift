import Foundation
import Yams

/// Why a manifest could not be read as a pod: names the field (`spec.containers[0].ports`) and
/// the reason.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public let source: String
    public let message: String
    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }
    public var description: String { "\(source): \(message)" }
}

/// Decodes pod manifests in YAML or JSON (one object per file).
public enum ManifestDecoder {
    public static func decodePod(_ bytes: [UInt8], source: String) throws(ManifestError) -> Pod {
        let text = String(decoding: bytes, as: UTF8.self)
        let trimmed = text.drop(while: { $0.isWhitespace })
        guard !trimmed.isEmpty else { throw ManifestError(source: source, message: "manifest is empty") }
        do {
            if trimmed.first == "{" {
                return try JSONDecoder().decode(Pod.self, from: Data(bytes))
            }
            var documents = 0
            for _ in try Yams.load_all(yaml: text) { documents += 1 }
            if documents > 1 {
                throw ManifestError(source: source, message: "holds \(documents) documents; a static pod manifest holds one pod")
            }
            return try YAMLDecoder().decode(Pod.self, from: text)
        } catch let error as ManifestError {
            throw error
        } catch let error as DecodingError {
            throw ManifestError(source: source, message: describe(error))
        } catch let error as YamlError {
            throw ManifestError(source: source, message: "invalid YAML: \(error)")
        } catch {
            throw ManifestError(source: source, message: "invalid manifest: \(error)")
        }
    }

    /// A decoding error as `field.path: reason`.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let i = key.intValue { out += "[\(i)]" } else { out += out.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return out.isEmpty ? "<root>" : out
        }
        switch error {
        case .typeMismatch(let type, let ctx):
            return "\(path(ctx.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let ctx):
            return "\(path(ctx.codingPath)): Required value (\(typeName(type)))"
        case .keyNotFound(let key, let ctx):
            return "\(path(ctx.codingPath + [key])): Required value"
        case .dataCorrupted(let ctx):
            return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int32.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is [Any].Type: return "a list"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a map" }
            return "an object"
        }
    }
}
