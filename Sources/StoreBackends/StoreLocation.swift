import Foundation
import Registry
import RegistryPostgres

/// Where a store's two halves live (CLI.md "Backends"): the catalog (`--catalog`, `$CONCEPTS_CATALOG`)
/// and the blobs (`--blobs`, `$CONCEPTS_BLOBS`). Without either, both sit in the store directory
/// (`catalog.sqlite`, `blobs/`), the embedded default. The store directory stays the host's own
/// place for caches (decoded encoders, caption scan indexes) whatever the backends.
public struct StoreLocation: Sendable, Equatable, CustomStringConvertible {
    public enum CatalogLocation: Sendable, Equatable {
        /// A SQLite file (GRDB).
        case sqlite(URL)
        /// A PostgreSQL database: `postgres://user[:password]@host:port/db`.
        case postgres(String)
    }

    public enum BlobsLocation: Sendable, Equatable {
        /// A local folder of content-addressed files.
        case folder(URL)
        /// An S3-compatible bucket: `s3://bucket/prefix` (endpoint, region and keys from `AWS_*`).
        case s3(String)
    }

    public var root: URL
    public var catalog: CatalogLocation
    public var blobs: BlobsLocation

    public init(root: URL, catalog: CatalogLocation, blobs: BlobsLocation) {
        self.root = root
        self.catalog = catalog
        self.blobs = blobs
    }

    /// The location for a store directory and optional `--catalog`/`--blobs` values; an absent value
    /// falls back to `$CONCEPTS_CATALOG`/`$CONCEPTS_BLOBS`, then to the store directory.
    public init(root: URL, catalog: String?, blobs: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.root = root
        let catalogText = catalog ?? environment["CONCEPTS_CATALOG"].flatMap { $0.isEmpty ? nil : $0 }
        let blobsText = blobs ?? environment["CONCEPTS_BLOBS"].flatMap { $0.isEmpty ? nil : $0 }
        self.catalog = try catalogText.map(Self.parseCatalog) ?? .sqlite(root.appendingPathComponent("catalog.sqlite"))
        self.blobs = try blobsText.map(Self.parseBlobs) ?? .folder(root.appendingPathComponent("blobs", isDirectory: true))
    }

    /// `postgres://…` / `postgresql://…`, `sqlite:PATH` / `file:PATH`, or a plain path of a SQLite file.
    public static func parseCatalog(_ text: String) throws -> CatalogLocation {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") { return .postgres(text) }
        if let path = strippingScheme(text, schemes: ["sqlite", "file"]) { return .sqlite(URL(fileURLWithPath: path)) }
        if hasScheme(text) {
            throw CatalogError.invalidLocation(text, reason: "use postgres://user@host:port/db, or a SQLite file path")
        }
        return .sqlite(URL(fileURLWithPath: text))
    }

    /// `s3://bucket[/prefix]`, `file:PATH`, or a plain folder path.
    public static func parseBlobs(_ text: String) throws -> BlobsLocation {
        if text.lowercased().hasPrefix("s3://") {
            let rest = text.dropFirst("s3://".count)
            guard let bucket = rest.split(separator: "/").first, !bucket.isEmpty else {
                throw RegistryError.io(path: text, reason: "no bucket in the blob store URL (use s3://bucket/prefix)")
            }
            return .s3(text)
        }
        if let path = strippingScheme(text, schemes: ["file"]) { return .folder(URL(fileURLWithPath: path, isDirectory: true)) }
        if hasScheme(text) { throw RegistryError.io(path: text, reason: "unsupported blob store (use s3://bucket/prefix or a folder path)") }
        return .folder(URL(fileURLWithPath: text, isDirectory: true))
    }

    /// Whether both halves are the store directory's own (the embedded default).
    public var isEmbedded: Bool {
        catalog == .sqlite(root.appendingPathComponent("catalog.sqlite")) && blobs == .folder(root.appendingPathComponent("blobs", isDirectory: true))
    }

    public var description: String {
        let catalogText = switch catalog {
        case .sqlite(let url): url.path
        case .postgres(let url): (try? PostgresLocation(url: url).redacted) ?? "postgres://(an unparsable URL)"
        }
        let blobsText = switch blobs {
        case .folder(let url): url.path
        case .s3(let url): url
        }
        return "catalog \(catalogText), blobs \(blobsText)"
    }

    private static func hasScheme(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return false }
        return text[..<colon].allSatisfy { $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }
    }

    private static func strippingScheme(_ text: String, schemes: [String]) -> String? {
        for scheme in schemes {
            for prefix in ["\(scheme)://", "\(scheme):"] where text.lowercased().hasPrefix(prefix) {
                let rest = String(text.dropFirst(prefix.count))
                return rest.isEmpty ? nil : rest
            }
        }
        return nil
    }
}
