import Foundation

/// The catalog schema as numbered, append-only SQL migrations: `schema/migrations/NNNN_name.sql`
/// for SQLite and their PostgreSQL translations, under the same identifiers, in
/// `schema/postgres/NNNN_name.sql` (differences in `schema/postgres/README.md`).
/// A landed migration is never edited: changes go into a new file with the next number, in both folders.
public enum RegistrySchema {
    public struct Migration: Sendable {
        /// e.g. `0001_initial`.
        public let identifier: String
        public let sql: String
    }

    public enum Failure: Error, LocalizedError {
        case missingResources(String)
        public var errorDescription: String? {
            switch self {
            case .missingResources(let folder): "the catalog's SQL migrations are missing from the build (schema/\(folder))"
            }
        }
    }

    /// All SQLite migrations, in the order they apply.
    public static func migrations() throws -> [Migration] {
        try migrations(folder: "migrations")
    }

    /// All PostgreSQL migrations, in the order they apply.
    public static func postgresMigrations() throws -> [Migration] {
        try migrations(folder: "postgres")
    }

    private static func migrations(folder: String) throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: folder, withExtension: nil) else { throw Failure.missingResources(folder) }
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try files.map { Migration(identifier: $0.deletingPathExtension().lastPathComponent, sql: try String(contentsOf: $0, encoding: .utf8)) }
    }
}
