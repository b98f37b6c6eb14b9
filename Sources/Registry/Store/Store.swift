import Foundation
import GRDB
import RegistrySchema

/// A ConceptRegistry store (docs/STORAGE.md §2): one directory with `catalog.sqlite` (WAL, foreign
/// keys on) and `blobs/` (content-addressed, zstd-compressed).
///
/// `@unchecked Sendable`: immutable after init; `DatabasePool` is itself thread-safe.
public final class Store: @unchecked Sendable {
    public let root: URL
    /// The blob storage: the local `blobs/` folder by default, or any `BlobStorage` given to `init` (S3).
    public let blobs: any BlobStorage
    public let database: DatabasePool

    /// Opens (and with `create`, creates) the store at `root`, applying pending migrations. Blobs
    /// live in `blobs` when given (e.g. an `S3BlobStore`), else in the folder `root/blobs`.
    public init(root: URL, create: Bool = true, blobs: (any BlobStorage)? = nil) throws {
        self.root = root
        let fm = FileManager.default
        let catalogPath = root.appendingPathComponent("catalog.sqlite")
        if !fm.fileExists(atPath: catalogPath.path) {
            guard create else { throw RegistryError.io(path: root.path, reason: "no store here (run `concepts init`)") }
            do {
                try fm.createDirectory(at: root.appendingPathComponent("blobs/tmp", isDirectory: true), withIntermediateDirectories: true)
            } catch {
                throw RegistryError.io(path: root.path, reason: "cannot create the store: \(error.localizedDescription)")
            }
        }
        self.blobs = blobs ?? BlobStore(directory: root.appendingPathComponent("blobs", isDirectory: true))
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Concurrent writers (several `register` processes) wait on SQLite's lock instead of failing.
        configuration.busyMode = .timeout(600)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            database = try DatabasePool(path: catalogPath.path, configuration: configuration)
            try Self.migrator().migrate(database)
        } catch let error as DatabaseError {
            throw RegistryError.catalog("\(catalogPath.path): \(error.message ?? error.description)")
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

    /// Applies `schema/migrations/*.sql` in order (each once, recorded by GRDB).
    static func migrator() throws -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in try RegistrySchema.migrations() {
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: migration.sql) }
        }
        return migrator
    }

    // MARK: Blobs referenced by the catalog

    /// Records a stored blob in the catalog (idempotent).
    static func recordBlob(_ put: BlobStore.PutResult, in db: Database) throws {
        try db.execute(
            sql: "INSERT INTO blob (sha256, size, stored_size) VALUES (?, ?, ?) ON CONFLICT(sha256) DO NOTHING",
            arguments: [put.sha256, put.size, put.storedSize])
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
