import CaptionIndex
import Foundation
import Hummingbird
import Registry

/// Every error the API returns: `{"error": {"code", "message"}}` with an HTTP status (issue 11 §2).
/// `code` is a stable machine-readable word (`not_found`, `unauthorized`, …); `message` a sentence.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    static func unprocessable(_ message: String) -> APIError { APIError(.unprocessableContent, "invalid_content", message) }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, "conflict", message) }
    static func unauthorized(_ message: String) -> APIError {
        var error = APIError(.unauthorized, "unauthorized", message)
        error.headers[.wwwAuthenticate] = "Bearer realm=\"concepts\""
        return error
    }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "too_large", "the upload is larger than the server's limit of \(limit) bytes (--max-upload)")
    }

    /// The JSON body.
    struct Body: Encodable {
        struct Inner: Encodable {
            let code: String
            let message: String
        }
        let error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let data = (try? JSONResponse.encoder.encode(Body(error: .init(code: code, message: message)))) ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The API error for anything a handler or the router threw.
    static func from(_ error: any Error) -> APIError {
        if let error = error as? APIError { return error }
        if let error = error as? HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no such route" : error.status.reasonPhrase)
            let code: String = switch error.status.code {
            case 400: "bad_request"
            case 404: "not_found"
            case 405: "method_not_allowed"
            case 413: "too_large"
            case 431: "headers_too_large"
            default: "http_\(error.status.code)"
            }
            return APIError(error.status, code, message)
        }
        if let error = error as? RegistryError { return from(registry: error) }
        if let error = error as? CaptionError { return from(captions: error) }
        if let error = error as? TokenError {
            return switch error {
            case .exists: .conflict(error.localizedDescription)
            case .unknown: .notFound(error.localizedDescription)
            }
        }
        if error is DecodingError { return .badRequest("malformed JSON body: \(Self.describe(decoding: error))") }
        let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        return APIError(.internalServerError, "internal", text)
    }

    static func from(registry error: RegistryError) -> APIError {
        let message = error.localizedDescription
        return switch error {
        case .unknownBase, .unknownConcept, .unknownVersion, .unknownAlias, .unknownComposition: .notFound(message)
        case .invalidReference, .invalidName: .badRequest(message)
        case .baseExists: .conflict(message)
        case .invalidBase, .invalidConcept, .implausibleDelta, .wrongBase, .incompatibleConcepts: .unprocessable(message)
        case .io, .compression, .missingBlob, .corruptBlob, .catalog: APIError(.internalServerError, "internal", message)
        }
    }

    static func from(captions error: CaptionError) -> APIError {
        let message = error.localizedDescription
        return switch error {
        case .unknownSet, .unknownEncoder, .unknownRegset, .noEncoder: .notFound(message)
        case .encoderExists, .regsetExists: .conflict(message)
        case .invalidArgument, .emptyRegset, .emptyCaptionFile, .malformedCaptionFile: .unprocessable(message)
        default: APIError(.internalServerError, "internal", message)
        }
    }

    private static func describe(decoding error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let context)?: context.debugDescription
        case .keyNotFound(let key, _)?: "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context)?: "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case .valueNotFound(_, let context)?: "missing value at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        default: String(describing: error)
        }
    }
}
