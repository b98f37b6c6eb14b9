import Foundation
import Logging
import NIOCore
import PostgresNIO
import Registry

/// One pooled connection inside a `read` or `write` transaction of `PostgresCatalog`. Used by one
/// thread at a time (the caller's); every statement is sent with postgres-nio's future API and
/// waited for on that thread.
final class PostgresCatalogConnection: CatalogConnection {
    let dialect = CatalogDialect.postgres
    let connection: PostgresConnection
    let location: String
    private let logger: Logger
    private var cursorCount = 0
    /// The first statement that failed in this transaction: PostgreSQL aborts the transaction at
    /// an error, so later statements and the COMMIT cannot succeed.
    private(set) var firstFailure: String?

    /// Rows per `FETCH` in `forEachRow`.
    static let cursorBatch = 512

    init(connection: PostgresConnection, location: String, logger: Logger) {
        self.connection = connection
        self.location = location
        self.logger = logger
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [CatalogValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func fetchAll(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow] {
        try rows(of: run(sql, arguments))
    }

    /// Streams through a server-side cursor (`DECLARE … NO SCROLL CURSOR`, then `FETCH 512` until
    /// a short batch), so at most one batch of rows is held in memory.
    func forEachRow(_ sql: String, _ arguments: [CatalogValue], _ body: (CatalogRow) throws -> Void) throws {
        cursorCount += 1
        let cursor = "catalog_cursor_\(cursorCount)"
        try run("DECLARE \(cursor) NO SCROLL CURSOR FOR " + PostgresSQL.trimmingTail(sql), arguments)
        var finished = false
        defer { if !finished, firstFailure == nil { _ = try? run("CLOSE \(cursor)", []) } }
        while true {
            let batch = try rows(of: run("FETCH FORWARD \(Self.cursorBatch) FROM \(cursor)", []))
            for row in batch { try body(row) }
            if batch.count < Self.cursorBatch { break }
        }
        finished = true
        try run("CLOSE \(cursor)", [])
    }

    func insertReturningID(_ sql: String, _ arguments: [CatalogValue]) throws -> Int64? {
        guard let row = try fetchAll(PostgresSQL.trimmingTail(sql) + " RETURNING id", arguments).first else { return nil }
        return try row.value("id", as: Int64.self)
    }

    /// `pg_advisory_xact_lock` on a 64-bit hash of `key` (`hashtextextended`, PostgreSQL ≥ 11),
    /// held until COMMIT or ROLLBACK, across every session of the database.
    func lockForWrite(key: String) throws {
        try run("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [.text(key)])
    }

    /// The statement rewritten once (placeholders numbered, the `RETURNING id` form made on first
    /// use); each execution is one round trip of the extended query protocol (Parse, Bind, Execute
    /// of an unnamed statement: the server's parse of an INSERT costs less than the round trip).
    func prepare(_ sql: String) throws -> any CatalogStatement {
        PostgresCatalogStatement(connection: self, sql: sql, numbered: PostgresSQL.numberPlaceholders(sql))
    }

    /// Numbers the placeholders, binds the arguments, runs the statement and waits for all rows.
    @discardableResult
    func run(_ sql: String, _ arguments: [CatalogValue]) throws -> PostgresQueryResult {
        try run(sql, numbered: PostgresSQL.numberPlaceholders(sql), arguments)
    }

    func run(_ sql: String, numbered: (sql: String, count: Int), _ arguments: [CatalogValue]) throws -> PostgresQueryResult {
        let (numbered, count) = numbered
        guard count == arguments.count else {
            throw CatalogError.engine(engine: "postgres", location: location,
                                      reason: "the statement has \(count) placeholder(s) but \(arguments.count) argument(s): \(sql.prefix(300))")
        }
        let query = PostgresQuery(unsafeSQL: numbered, binds: PostgresValueCoding.bindings(arguments))
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            let failure = PostgresErrorMapping.catalogError(error, location: location)
            if firstFailure == nil { firstFailure = PostgresErrorMapping.reason(error) }
            throw failure
        }
    }

    func rows(of result: PostgresQueryResult) throws -> [CatalogRow] {
        do {
            return try result.rows.map(PostgresValueCoding.row)
        } catch {
            throw PostgresErrorMapping.catalogError(error, location: location)
        }
    }
}

/// A statement of `PostgresCatalogConnection.prepare`, valid while its transaction lasts.
final class PostgresCatalogStatement: CatalogStatement {
    private let connection: PostgresCatalogConnection
    private let sql: String
    private let numbered: (sql: String, count: Int)
    private var returning: (sql: String, count: Int)?

    init(connection: PostgresCatalogConnection, sql: String, numbered: (sql: String, count: Int)) {
        self.connection = connection
        self.sql = sql
        self.numbered = numbered
    }

    @discardableResult
    func execute(_ arguments: [CatalogValue]) throws -> Int {
        try connection.run(sql, numbered: numbered, arguments).metadata.rows ?? 0
    }

    func insertReturningID(_ arguments: [CatalogValue]) throws -> Int64? {
        let returning = self.returning ?? PostgresSQL.numberPlaceholders(PostgresSQL.trimmingTail(sql) + " RETURNING id")
        self.returning = returning
        let result = try connection.run(sql, numbered: returning, arguments)
        guard let row = try connection.rows(of: result).first else { return nil }
        return try row.value("id", as: Int64.self)
    }
}
