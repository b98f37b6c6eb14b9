import Foundation

/// Everything `concepts pull` can fail at, with what a user needs to act.
public enum PullError: Error, LocalizedError, Equatable {
    case badURL(String)
    case http(url: String, status: Int, code: String?, message: String)
    case invalidManifest(String)
    case unsafePath(String)
    case checksumMismatch(path: String, expected: String, actual: String)
    case sizeMismatch(path: String, expected: Int, actual: Int)
    case io(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .badURL(let url): "'\(url)' is not an http(s) URL of a concepts server"
        case .http(let url, let status, let code, let message):
            "\(url): HTTP \(status)\(code.map { " \($0)" } ?? ""): \(message)"
                + (status == 401 ? " (give a token with --token or $CONCEPTS_TOKEN)" : "")
        case .invalidManifest(let reason): "the server's manifest is unusable: \(reason)"
        case .unsafePath(let path): "the manifest names an unsafe path '\(path)' (absolute, '..' or control characters); nothing was written for it"
        case .checksumMismatch(let path, let expected, let actual): "\(path): SHA-256 \(actual) does not match the manifest's \(expected); the download was discarded"
        case .sizeMismatch(let path, let expected, let actual): "\(path): \(actual) bytes instead of the manifest's \(expected); the download was discarded"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}
