import Foundation

/// A ConceptRegistry store (DESIGN.md §3): a catalog (`any Catalog`: by default `catalog.sqlite` in
/// `root`, WAL, foreign keys on) and blobs (content-addressed, zstd-compressed; by default `blobs/`
/// in `root`). `root` also holds the per-host caches (`cache/`: scan indexes, served copies) and
/// the store lock.
///
/// `@unchecked Sendable`: immutable after init; catalogs are `Sendable` and thread-safe.
public final class Store: @unchecked Sendable {
    public let root: URL
    public let blobs: BlobStore
    public let catalog: any Catalog

    /// Opens (and with `create`, creates) the default store at `root` — the SQLite catalog
    /// `root/catalog.sqlite` and the blob folder `root/blobs` — applying pending migrations.
    public convenience init(root: URL, create: Bool = true) throws {
        let catalogPath = root.appendingPathComponent("catalog.sqlite")
        if !FileManager.default.fileExists(atPath: catalogPath.path) {
            guard create else { throw RegistryError.io(path: root.path, reason: "no store here (run `concepts init`)") }
        }
        try Self.createDirectories(root)
        try self.init(root: root, catalog: try SQLiteCatalog(path: catalogPath.path),
                      blobs: BlobStore(directory: root.appendingPathComponent("blobs", isDirectory: true)))
    }

    /// A store over any catalog and blob storage (PostgreSQL, S3, …); `root` is the local directory
    /// for per-host caches and the store lock. Applies the catalog's pending migrations.
    public init(root: URL, catalog: any Catalog, blobs: BlobStore) throws {
        try Self.createDirectories(root)
        self.root = root
        self.catalog = catalog
        self.blobs = blobs
        try catalog.migrate()
    }

    private static func createDirectories(_ root: URL) throws {
        do {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("blobs/tmp", isDirectory: true), withIntermediateDirectories: true)
        } catch {
            throw RegistryError.io(path: root.path, reason: "cannot create the store: \(error.localizedDescription)")
        }
    }

    /// The store directory used when `--store` is not given (CLI.md "Conventions"):
    /// `$CONCEPTS_STORE`, else `$XDG_DATA_HOME/concepts`, else `~/.local/share/concepts`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["CONCEPTS_STORE"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("concepts")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/concepts")
    }

    // MARK: Blobs referenced by the catalog

    /// Records a stored blob in the catalog (idempotent).
    static func recordBlob(_ put: BlobStore.PutResult, in connection: any CatalogConnection) throws {
        try connection.insert(BlobRecord(sha256: put.sha256, size: put.size, storedSize: put.storedSize), into: "blob",
                              "ON CONFLICT (sha256) DO NOTHING")
    }

    /// One query per catalog column that refers to a blob; a table that adds such a column adds its query here.
    static let blobReferenceQueries = [
        "SELECT blob FROM base_tensor", "SELECT blob FROM base_file", "SELECT embedding_blob FROM version_token",
        "SELECT up_blob FROM version_layer", "SELECT down_blob FROM version_layer WHERE down_blob IS NOT NULL",
        "SELECT patch_index_blob FROM version_layer WHERE patch_index_blob IS NOT NULL",
        "SELECT patch_value_blob FROM version_layer WHERE patch_value_blob IS NOT NULL",
        "SELECT features_blob FROM merge_key", "SELECT target_blob FROM merge_key_layer", "SELECT base_blob FROM merge_key_layer",
        "SELECT eigenvectors_blob FROM compose_basis", "SELECT eigenvalues_blob FROM compose_basis", "SELECT up_blob FROM composition_layer", "SELECT down_blob FROM composition_layer",
        "SELECT embedding_blob FROM composition_token", "SELECT blob FROM caption_encoder_file",
        "SELECT blob FROM export_file",
    ]
}
