import Foundation
import Registry

/// `concepts store copy` (issue 12 §6): a whole store into another backend pair (SQLite + folder ⇄
/// PostgreSQL + S3, or any mix), in the order that keeps the destination consistent at every moment:
///
/// 1. Blobs first: every blob the source catalog records (`blob` table), read through the source's
///    hash check and written to the destination, unless the destination already has it — so no row
///    that lands later can name a missing blob (the rule of DESIGN §3 across machines).
/// 2. Then the rows (`StoreCopy`): foreign-key order, ids kept, batches with `ON CONFLICT DO NOTHING`.
/// 3. Then the check: every table's row count equal on both sides.
///
/// Resumable: after an interruption, running it again skips the blobs and rows already copied.
public enum StoreTransfer {
    /// The JSON of `store copy` (CLI.md "Service and remote stores").
    public struct Report: Encodable, Sendable, Equatable {
        /// Rows in the destination after the copy.
        public var bases: Int
        public var concepts: Int
        public var versions: Int
        /// Blobs this run wrote to the destination (ones already there are not counted).
        public var blobs: Int
        /// Their uncompressed bytes.
        public var bytes: Int
    }

    public enum Failure: Error, LocalizedError, Equatable {
        case blobMismatch(sha256: String, written: String)

        public var errorDescription: String? {
            switch self {
            case .blobMismatch(let sha, let written): "store copy: blob \(sha) was written as \(written); nothing refers to it yet, run the copy again"
            }
        }
    }

    public static func copy(from source: Store, to destination: Store, progress: ((String) -> Void)? = nil) throws -> Report {
        let hashes = try source.catalog.read { try $0.fetchColumn("SELECT sha256 FROM blob ORDER BY sha256", as: String.self) }
        var copied = 0, bytes = 0
        for (index, sha) in hashes.enumerated() {
            if index % 200 == 0 { progress?("blobs: \(index)/\(hashes.count)") }
            if try destination.blobs.exists(sha) { continue }
            let data = try source.blobs.get(sha)
            let written = try destination.blobs.put(data)
            guard written.sha256 == sha else { throw Failure.blobMismatch(sha256: sha, written: written.sha256) }
            copied += 1
            bytes += data.count
        }
        progress?("blobs: \(hashes.count)/\(hashes.count), \(copied) copied")
        _ = try StoreCopy.copy(from: source.catalog, to: destination.catalog) { table, rows in progress?("\(table): \(rows) rows") }
        try StoreCopy.verify(source.catalog, destination.catalog)
        return try destination.catalog.read { connection in
            Report(bases: try count("base_model", connection), concepts: try count("concept", connection),
                   versions: try count("concept_version", connection), blobs: copied, bytes: bytes)
        }
    }

    private static func count(_ table: String, _ connection: any CatalogConnection) throws -> Int {
        try connection.fetchValue("SELECT COUNT(*) FROM \(table)", as: Int.self) ?? 0
    }
}
