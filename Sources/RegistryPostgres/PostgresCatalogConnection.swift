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

    /// Numbers the placeholders, binds the arguments, runs the statement and waits for all rows.
    @discardableResult
    func run(_ sql: String, _ arguments: [CatalogValue]) throws -> PostgresQueryResult {
        let (numbered, count) = PostgresSQL.numberPlaceholders(sql)
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

    private func rows(of result: PostgresQueryResult) throws -> [CatalogRow] {
        do {
            return try result.rows.map(PostgresValueCoding.row)
        } catch {
            throw PostgresErrorMapping.catalogError(error, location: location)
        }
    }
}
