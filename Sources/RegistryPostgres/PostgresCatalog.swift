import Foundation
import Logging
import NIOCore
import PostgresNIO
import Registry

/// The store's catalog in PostgreSQL (issue 12): the `Catalog` seam over postgres-nio, for
/// registries shared by several hosts. `PostgresCatalog(url: "postgres://user@host:5432/db")`.
///
/// Synchronous over an asynchronous driver: each transaction takes a connection from a small pool
/// (`PostgresConnectionPool`, at most 8 connections on the catalog's own event-loop thread) and
/// the calling thread waits on each statement's future; the body of `read`/`write` runs on the
/// caller's thread.
///
/// - `read`: `BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ` (one snapshot; writes are refused
///   with SQLSTATE 25006), committed at the end.
/// - `write`: `BEGIN` (READ COMMITTED) … `COMMIT`, or `ROLLBACK` when the body throws. Writers that
///   read-then-write (the next version number) serialise with `lockForWrite(key:)`.
/// - A statement that fails aborts the PostgreSQL transaction: catching its error inside the body
///   and carrying on makes every later statement fail, and the transaction is rolled back (the
///   COMMIT reports it). Use `ON CONFLICT` rather than catch-and-continue.
public final class PostgresCatalog: Catalog {
    public let dialect = CatalogDialect.postgres
    /// The URL without its password.
    public let location: String
    let pool: PostgresConnectionPool
    let logger: Logger

    /// Connects to `url` once to check it (so a wrong host, user or database fails here, as a
    /// `CatalogError`), and keeps that connection for the pool.
    public init(url: String, maximumConnections: Int = 8) throws {
        let parsed: PostgresLocation
        do {
            parsed = try PostgresLocation(url: url)
        } catch {
            switch error {
            case .invalid(let reason): throw CatalogError.invalidLocation(Self.redact(url), reason: reason)
            }
        }
        location = parsed.redacted
        do {
            pool = try PostgresConnectionPool(location: parsed, maximumConnections: max(1, maximumConnections))
        } catch {
            throw CatalogError.invalidLocation(location, reason: "cannot set up TLS: \(error)")
        }
        var logger = Logger(label: "concepts.catalog.postgres")
        logger.logLevel = .error
        self.logger = logger
        let connection = try acquire()
        pool.release(connection, reusable: true)
    }

    public convenience init(url: String) throws {
        try self.init(url: url, maximumConnections: 8)
    }

    @discardableResult
    public func read<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try transaction(begin: "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ", body)
    }

    @discardableResult
    public func write<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", body)
    }

    /// Runs `body` on a pooled connection outside a transaction block, each statement committing
    /// on its own: for the statements PostgreSQL refuses inside one (`CREATE DATABASE`, `VACUUM`).
    @discardableResult
    public func withoutTransaction<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        let connection = try acquire()
        let session = PostgresCatalogConnection(connection: connection, location: location, logger: logger)
        var reusable = false
        defer { pool.release(connection, reusable: reusable) }
        do {
            let result = try body(session)
            reusable = true
            return result
        } catch {
            // ROLLBACK outside a transaction only warns: it succeeds on any healthy connection.
            reusable = (try? session.run("ROLLBACK", [])) != nil
            throw error
        }
    }

    public func close() throws {
        do {
            try pool.shutdown()
        } catch {
            throw PostgresErrorMapping.catalogError(error, location: location)
        }
    }

    /// A pooled connection, or the reason none could be opened.
    func acquire() throws -> PostgresConnection {
        do {
            return try pool.acquire()
        } catch {
            throw PostgresErrorMapping.catalogError(error, location: location)
        }
    }

    private func transaction<T>(begin: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        let connection = try acquire()
        let session = PostgresCatalogConnection(connection: connection, location: location, logger: logger)
        var reusable = false
        defer { pool.release(connection, reusable: reusable) }
        try session.run(begin, [])
        let result: T
        do {
            result = try body(session)
        } catch {
            // A connection whose ROLLBACK failed is in an unknown state: closed, not reused.
            reusable = (try? session.run("ROLLBACK", [])) != nil
            throw error
        }
        let commit: PostgresQueryResult
        do {
            commit = try session.run("COMMIT", [])
        } catch {
            reusable = (try? session.run("ROLLBACK", [])) != nil
            throw error
        }
        reusable = true
        // COMMIT of a transaction aborted by a failed statement answers ROLLBACK, without an error.
        if commit.metadata.command.uppercased() == "ROLLBACK" {
            throw CatalogError.engine(engine: "postgres", location: location,
                                      reason: "the transaction was rolled back: a statement in it failed (\(session.firstFailure ?? "no detail")), and PostgreSQL aborts the whole transaction at an error")
        }
        return result
    }

    /// `url` with any password replaced by `***`, for messages about URLs that did not parse.
    static func redact(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
