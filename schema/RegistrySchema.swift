import Foundation

/// The catalog schema as numbered, append-only SQL migrations (`schema/migrations/NNNN_name.sql`).
/// A landed migration is never edited: changes go into a new file with the next number.
public enum RegistrySchema {
    public struct Migration: Sendable {
        /// e.g. `0001_initial`.
        public let identifier: String
        public let sql: String
    }

    public enum Failure: Error, LocalizedError {
        case missingResources
        public var errorDescription: String? { "the catalog's SQL migrations are missing from the build (schema/migrations)" }
    }

    /// All migrations, in the order they apply.
    public static func migrations() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "migrations", withExtension: nil) else { throw Failure.missingResources }
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try files.map { Migration(identifier: $0.deletingPathExtension().lastPathComponent, sql: try String(contentsOf: $0, encoding: .utf8)) }
    }
}
