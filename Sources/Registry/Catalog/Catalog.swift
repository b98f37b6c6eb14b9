import Foundation

/// The SQL dialect of a catalog: the registry writes its statements once, in the subset the two
/// engines share (`?` placeholders, `INSERT … ON CONFLICT … DO NOTHING/UPDATE`, `RETURNING`,
/// integer 0/1 for booleans), and branches on the dialect only where they differ (full-text search,
/// maintenance pragmas).
public enum CatalogDialect: String, Sendable {
    case sqlite
    case postgres
}

/// The store's catalog (docs/STORAGE.md §2): the seam between the registry and its SQL engine.
/// `SQLiteCatalog` (GRDB, the embedded default) and `PostgresCatalog` (postgres-nio) implement it;
/// every registry operation goes through `read`/`write` and nothing else.
///
/// Calls are synchronous (the registry's API is); an implementation over an asynchronous driver
/// must not block one of its own event-loop threads.
public protocol Catalog: Sendable {
    var dialect: CatalogDialect { get }
    /// Where the catalog lives, for messages: a file path or a URL without its password.
    var location: String { get }

    /// Runs `body` in a read-only transaction that sees one consistent snapshot.
    func read<T>(_ body: (any CatalogConnection) throws -> T) throws -> T

    /// Runs `body` in a read-write transaction: committed when `body` returns, rolled back when it
    /// throws. Concurrent writers (other processes or hosts) wait; they are never lost.
    func write<T>(_ body: (any CatalogConnection) throws -> T) throws -> T

    /// Applies pending migrations (each once, in order; concurrent callers migrate once).
    func migrate() throws

    /// Releases connections; the catalog is unusable afterwards.
    func close() throws
}

/// One connection inside a `read` or `write` transaction. SQL uses `?` placeholders; the
/// PostgreSQL catalog rewrites them to `$1…$n` (a `?` inside a string literal is not a placeholder).
public protocol CatalogConnection {
    var dialect: CatalogDialect { get }

    /// Runs a statement that returns no rows; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [CatalogValue]) throws -> Int

    /// Runs a query and returns all its rows.
    func fetchAll(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow]

    /// Runs a query and hands its rows to `body` one at a time, without holding them all in memory.
    func forEachRow(_ sql: String, _ arguments: [CatalogValue], _ body: (CatalogRow) throws -> Void) throws

    /// Runs `INSERT …` with `RETURNING id` appended and returns the new row's `id`, or `nil` when
    /// an `ON CONFLICT … DO NOTHING` clause skipped the row.
    func insertReturningID(_ sql: String, _ arguments: [CatalogValue]) throws -> Int64?

    /// Serialises writers of `key` until this transaction ends, across processes and hosts
    /// (PostgreSQL: `pg_advisory_xact_lock` on the key's hash; SQLite: a no-op, its write lock is
    /// already exclusive). Used where a read decides a write, e.g. the next version number.
    func lockForWrite(key: String) throws
}

extension CatalogConnection {
    /// The first row, or `nil`.
    public func fetchOne(_ sql: String, _ arguments: [CatalogValue] = []) throws -> CatalogRow? {
        try fetchAll(sql, arguments).first
    }

    /// The first column of the first row as `T`, or `nil` when there is no row or the value is NULL.
    public func fetchValue<T: CatalogValueConvertible>(_ sql: String, _ arguments: [CatalogValue] = [], as type: T.Type = T.self) throws -> T? {
        guard let row = try fetchOne(sql, arguments) else { return nil }
        return try row.first(as: Optional<T>.self)
    }

    /// The first column of every row as `T`.
    public func fetchColumn<T: CatalogValueConvertible>(_ sql: String, _ arguments: [CatalogValue] = [], as type: T.Type = T.self) throws -> [T] {
        try fetchAll(sql, arguments).map { try $0.first(as: T.self) }
    }
}
