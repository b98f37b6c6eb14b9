import Crypto
import Foundation

/// The client's local content-addressed cache (`$XDG_CACHE_HOME/concepts`, else `~/.cache/concepts`):
/// `files/<aa>/<rest of sha256>` holds verified files; `partial/<sha256>` holds interrupted downloads,
/// resumed with `Range` (issue 11 §4). A file enters `files/` only after its SHA-256 was checked.
public struct ContentCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg).appendingPathComponent("concepts") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/concepts")
    }

    public func path(for sha256: String) -> URL {
        root.appendingPathComponent("files/\(sha256.prefix(2))/\(sha256.dropFirst(2))")
    }

    public func partialPath(for sha256: String) -> URL { root.appendingPathComponent("partial/\(sha256)") }

    /// True when a cached copy exists with the right size and hash (a damaged copy is removed).
    func holds(sha256: String, size: Int) -> Bool {
        let file = path(for: sha256)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path), (attributes[.size] as? Int) == size else { return false }
        guard (try? Self.sha256(of: file)) == sha256 else {
            try? FileManager.default.removeItem(at: file)
            return false
        }
        return true
    }

    /// Moves a verified download into the cache.
    func adopt(_ file: URL, sha256: String) throws {
        let target = path(for: sha256)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        try FileManager.default.moveItem(at: file, to: target)
    }

    /// Hex SHA-256 of a file, read in 1 MiB chunks.
    public static func sha256(of file: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw PullError.io(path: file.path, reason: "cannot open") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
