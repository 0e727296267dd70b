import FoundationEssentials
import SystemCore

extension Spec {
    /// Decodes config.json bytes, turning decoding failures into errors that name the field.
    /// Valid documents of the usual forms go through `JSONReader`; the rest (and every invalid
    /// one) through JSONDecoder, whose errors name the field.
    public static func decode(_ bytes: [UInt8], file: String = "config.json") throws(RuntimeError) -> Spec {
        if let spec = fastDecode(bytes) { return spec }
        return try decodeJSON(Spec.self, bytes, file: file)
    }

    /// Reads `<bundle>/config.json`.
    public static func load(bundle: String) throws(RuntimeError) -> Spec {
        try loadDocument(bundle: bundle).spec
    }

    /// Reads `<bundle>/config.json`: the spec and the bytes it was decoded from.
    static func loadDocument(bundle: String) throws(RuntimeError) -> (spec: Spec, bytes: [UInt8]) {
        let path = bundle + "/config.json"
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readBytes(path)
        } catch {
            throw .invalidConfig(field: "config.json", reason: "cannot read \(path): \(error.errno)")
        }
        return (try decode(bytes, file: path), bytes)
    }
}

/// Decodes JSON, naming the failing field by its JSON path (e.g. `process.user.uid`).
func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], file: String) throws(RuntimeError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch let error as DecodingError {
        switch error {
        case .typeMismatch(let expected, let context):
            throw .invalidConfig(field: fieldPath(context.codingPath), reason: "expected \(describe(expected))")
        case .valueNotFound(let expected, let context):
            throw .invalidConfig(field: fieldPath(context.codingPath), reason: "expected \(describe(expected)), found null")
        case .keyNotFound(let key, let context):
            throw .invalidConfig(field: fieldPath(context.codingPath + [key]), reason: "required field is missing")
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { ": \($0)" } ?? ""
            let field = context.codingPath.isEmpty ? file : fieldPath(context.codingPath)
            throw .invalidConfig(field: field, reason: "malformed JSON (\(context.debugDescription))\(underlying)")
        @unknown default:
            throw .invalidConfig(field: file, reason: "\(error)")
        }
    } catch {
        throw .invalidConfig(field: file, reason: "\(error)")
    }
}

func fieldPath(_ path: [any CodingKey]) -> String {
    var result = ""
    for key in path {
        if let index = key.intValue {
            result += "[\(index)]"
        } else {
            result += result.isEmpty ? key.stringValue : "." + key.stringValue
        }
    }
    return result.isEmpty ? "(root)" : result
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Bool.Type: "a boolean"
    case is Int.Type, is Int64.Type, is UInt32.Type, is UInt64.Type, is UInt16.Type, is Int32.Type: "a number (\(type))"
    default: "\(type)"
    }
}

extension Spec.Process {
    /// Decodes a process.json (for `exec --process`).
    public static func decode(_ bytes: [UInt8], file: String) throws(RuntimeError) -> Spec.Process {
        if let process = fastDecode(bytes) { return process }
        return try decodeJSON(Spec.Process.self, bytes, file: file)
    }
}
