import Foundation
import PostgresNIO
import Registry
import RegistrySchema

extension PostgresCatalog {
    /// The session-level advisory lock that serialises `migrate()` across processes and hosts:
    /// the ASCII bytes of "concepts" as one bigint (advisory locks are per database).
    public static let migrationLockKey: Int64 = 0x636F_6E63_6570_7473

    /// Applies `schema/postgres/*.sql` in order, each once, each in its own transaction together
    /// with its row in `schema_migration`. Runs under `pg_advisory_lock(migrationLockKey)`, so two
    /// servers starting at once migrate once: the second waits, then finds nothing to do.
    /// A catalog holding a migration this program does not know is `CatalogError.schemaTooNew`.
    public func migrate() throws {
        let migrations: [RegistrySchema.Migration]
        do {
            migrations = try RegistrySchema.postgresMigrations()
        } catch {
            throw CatalogError.engine(engine: "postgres", location: location, reason: error.localizedDescription)
        }
        let connection = try acquire()
        let session = PostgresCatalogConnection(connection: connection, location: location, logger: logger)
        var reusable = false
        defer { pool.release(connection, reusable: reusable) }
        try session.run("SELECT pg_advisory_lock(?)", [.integer(Self.migrationLockKey)])
        do {
            try apply(migrations, on: session)
        } catch {
            // Unlock (or drop the connection, which unlocks) before reporting.
            _ = try? session.run("ROLLBACK", [])
            reusable = (try? session.run("SELECT pg_advisory_unlock(?)", [.integer(Self.migrationLockKey)])) != nil
            throw error
        }
        try session.run("SELECT pg_advisory_unlock(?)", [.integer(Self.migrationLockKey)])
        reusable = true
    }

    /// The identifiers recorded in `schema_migration`, in order (empty before the first `migrate()`).
    public func appliedMigrations() throws -> [String] {
        try read { connection in
            guard try connection.fetchValue("SELECT to_regclass('schema_migration')::text", as: String.self) != nil else { return [] }
            return try connection.fetchColumn("SELECT identifier FROM schema_migration ORDER BY identifier", as: String.self)
        }
    }

    private func apply(_ migrations: [RegistrySchema.Migration], on session: PostgresCatalogConnection) throws {
        try session.run("""
            CREATE TABLE IF NOT EXISTS schema_migration (
                identifier text PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, [])
        let applied = Set(try session.fetchColumn("SELECT identifier FROM schema_migration", as: String.self))
        let known = Set(migrations.map(\.identifier))
        if let unknown = applied.subtracting(known).sorted().last {
            throw CatalogError.schemaTooNew(location: location, applied: unknown)
        }
        for migration in migrations where !applied.contains(migration.identifier) {
            try session.run("BEGIN", [])
            do {
                for statement in PostgresSQL.splitStatements(migration.sql) {
                    try session.run(statement, [])
                }
                try session.run("INSERT INTO schema_migration (identifier) VALUES (?)", [.text(migration.identifier)])
                try session.run("COMMIT", [])
            } catch {
                _ = try? session.run("ROLLBACK", [])
                let reason = (error as? CatalogError).flatMap { error -> String? in
                    if case .engine(_, _, let reason) = error { return reason }
                    return nil
                } ?? String(describing: error)
                throw CatalogError.engine(engine: "postgres", location: location, reason: "migration \(migration.identifier): \(reason)")
            }
        }
    }
}
