import Foundation

/// What can go wrong talking to S3, with enough context to act on.
public enum S3Error: Error, Equatable, LocalizedError {
    /// `--blobs` is not `s3://bucket[/prefix]`.
    case invalidURL(String, reason: String)
    /// A required setting (credentials, …) is missing from the environment.
    case missingSetting(String)
    /// The endpoint override is not an `http(s)://host[:port]` URL.
    case invalidEndpoint(String)
    /// S3 answered with an error status (`code`/`message` from its XML error body when there was one).
    case http(method: String, key: String, status: Int, code: String, message: String)
    /// The request failed at the transport level after every retry.
    case transport(method: String, key: String, attempts: Int, reason: String)
    /// A response that does not say what S3 documents (e.g. a ListObjectsV2 body without keys).
    case malformedResponse(operation: String, reason: String)
    /// An upload that S3 accepted but whose object does not have the expected size.
    case verificationFailed(key: String, reason: String)
    /// The synchronous API was called on an event-loop thread, where waiting would deadlock.
    case calledOnEventLoop

    public var errorDescription: String? {
        switch self {
        case .invalidURL(let url, let reason): "invalid blob storage URL '\(url)': \(reason) (expected s3://bucket[/prefix])"
        case .missingSetting(let name): "S3 blob storage needs \(name) in the environment"
        case .invalidEndpoint(let url): "invalid S3 endpoint '\(url)' (expected http(s)://host[:port])"
        case .http(let method, let key, let status, let code, let message):
            "S3 \(method) \(key): HTTP \(status)\(code.isEmpty ? "" : " \(code)")\(message.isEmpty ? "" : ": \(message)")"
        case .transport(let method, let key, let attempts, let reason): "S3 \(method) \(key) failed after \(attempts) attempt(s): \(reason)"
        case .malformedResponse(let operation, let reason): "S3 \(operation): unexpected response: \(reason)"
        case .verificationFailed(let key, let reason): "S3 upload of \(key) did not verify: \(reason)"
        case .calledOnEventLoop: "the S3 blob store's synchronous API was called on an event-loop thread"
        }
    }

    /// The HTTP status of an `.http` error.
    public var status: Int? {
        if case .http(_, _, let status, _, _) = self { return status }
        return nil
    }
}
