import Foundation
import Hummingbird
import Registry

/// JSON response bodies, encoded as the CLI's `--json` output is (sorted keys, plain slashes).
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }()

    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) throws -> Response {
        var headers = extra
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: RegistryRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, "too_large", "JSON bodies are limited to \(context.maxUploadSize) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError.from(error)
        }
    }
}

/// Names and references from paths and queries, checked before they touch the store (issue 11 §3):
/// percent-decoded once, no control characters, no `/`, no `..`, the registry's own name rules.
enum Validate {
    static func text(_ raw: String, _ what: String) throws -> String {
        let decoded = raw.contains("%") ? (raw.removingPercentEncoding ?? raw) : raw
        guard !decoded.isEmpty else { throw APIError.badRequest("\(what) is empty") }
        guard !decoded.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.badRequest("\(what) contains control characters")
        }
        guard !decoded.contains("/"), !decoded.contains("\\"), decoded != ".", decoded != "..", decoded.utf8.count <= 400 else {
            throw APIError.badRequest("\(what) '\(decoded)' is not a valid name")
        }
        return decoded
    }

    static func name(_ raw: String, kind: String = "concept") throws -> String {
        let name = try text(raw, "\(kind) name")
        try ConceptReference.checkName(name, kind: kind)
        return name
    }

    static func reference(_ raw: String) throws -> ConceptReference {
        let text = try text(raw, "concept reference")
        let reference = try ConceptReference(parsing: text)
        try ConceptReference.checkName(reference.name, kind: "concept")
        if case .alias(let alias) = reference.selector { try ConceptReference.checkName(alias, kind: "alias") }
        return reference
    }

    static func sha256(_ raw: String) throws -> String {
        guard raw.utf8.count == 64, raw.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw APIError.badRequest("'\(raw.prefix(80))' is not a lowercase hex SHA-256")
        }
        return raw
    }
}
