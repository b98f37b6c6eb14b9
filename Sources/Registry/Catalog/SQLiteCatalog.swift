import Foundation
import GRDB
import RegistrySchema

/// The embedded default catalog (DESIGN.md §3): one SQLite file through GRDB's `DatabasePool` —
/// WAL, foreign keys on, `synchronous = FULL`, a 600 s busy timeout so that concurrent writers
/// (several `register` processes) wait on SQLite's lock instead of failing.
///
/// `@unchecked Sendable`: immutable after init; `DatabasePool` is itself thread-safe.
public final class SQLiteCatalog: Catalog, @unchecked Sendable {
    public let path: String
    let pool: DatabasePool

    public var dialect: CatalogDialect { .sqlite }
    public var location: String { path }

    /// Opens (creating when missing) the SQLite catalog file at `path`. Does not migrate.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(600)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch let error as DatabaseError {
            throw Self.engineError(error, location: path)
        }
    }

    public func read<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        do {
            return try pool.read { db in try body(SQLiteConnection(db: db)) }
        } catch let error as DatabaseError {
            throw Self.engineError(error, location: path)
        }
    }

    public func write<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        do {
            return try pool.write { db in try body(SQLiteConnection(db: db)) }
        } catch let error as DatabaseError {
            throw Self.engineError(error, location: path)
        }
    }

    /// Applies `schema/migrations/*.sql` in order, each once (recorded by GRDB's migrator in
    /// `grdb_migrations`). A catalog migrated by a newer program (an unknown applied migration) is refused.
    public func migrate() throws {
        var migrator = DatabaseMigrator()
        let migrations = try RegistrySchema.migrations()
        for migration in migrations {
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: migration.sql) }
        }
        do {
            let known = Set(migrations.map(\.identifier))
            if let unknown = try pool.read({ db in try migrator.appliedIdentifiers(db) }).first(where: { !known.contains($0) }) {
                throw CatalogError.schemaTooNew(location: path, applied: unknown)
            }
            try migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw Self.engineError(error, location: path)
        }
    }

    public func close() throws {
        do { try pool.close() } catch let error as DatabaseError { throw Self.engineError(error, location: path) }
    }

    static func engineError(_ error: DatabaseError, location: String) -> CatalogError {
        .engine(engine: "sqlite", location: location, reason: error.message ?? error.description)
    }
}
