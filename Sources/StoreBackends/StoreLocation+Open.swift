import Foundation
import Registry
import RegistryPostgres
import RegistryS3

extension StoreLocation {
    /// Opens the store: the embedded default through `Store(root:create:)`, any other combination
    /// with its catalog (SQLite file or PostgreSQL) and blob storage (folder or S3) built here.
    /// Without `create`, a missing SQLite catalog is an error (`concepts init` creates one); a
    /// PostgreSQL catalog is migrated when opened, as SQLite's is.
    public func open(create: Bool = true, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Store {
        if isEmbedded { return try Store(root: root, create: create) }
        let catalog: any Registry.Catalog
        switch self.catalog {
        case .sqlite(let file):
            if !create, !FileManager.default.fileExists(atPath: file.path) {
                throw RegistryError.io(path: file.path, reason: "no catalog here (run `concepts init`)")
            }
            do {
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw RegistryError.io(path: file.path, reason: "cannot create the catalog's folder: \(error.localizedDescription)")
            }
            catalog = try SQLiteCatalog(path: file.path)
        case .postgres(let url):
            catalog = try PostgresCatalog(url: url)
        }
        let blobs: any BlobStorage
        switch self.blobs {
        case .folder(let directory):
            do {
                try FileManager.default.createDirectory(at: directory.appendingPathComponent("tmp", isDirectory: true), withIntermediateDirectories: true)
            } catch {
                throw RegistryError.io(path: directory.path, reason: "cannot create the blob folder: \(error.localizedDescription)")
            }
            blobs = BlobStore(directory: directory)
        case .s3(let url):
            let bucket = try S3BlobStore(url: url, environment: environment)
            // Commands that write create what is missing, as they create a SQLite file: the bucket too.
            // A key allowed objects but not CreateBucket gets 403 here; the bucket may exist all the same,
            // and the first object request reports it if not (NoSuchBucket).
            if create { _ = try? S3Client.wait(bucket.client.createBucket()) }
            blobs = bucket
        }
        return try Store(root: root, catalog: catalog, blobs: blobs)
    }
}
