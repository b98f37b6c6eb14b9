import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A small pool of `PostgresConnection`s on the catalog's own event-loop thread, handed to callers
/// that block.
///
/// The synchronous bridge: a caller takes a connection, sends a query (postgres-nio's
/// `EventLoopFuture` API) and waits on the future from its own thread, while the pool's
/// dedicated `MultiThreadedEventLoopGroup` does the I/O. No Swift concurrency task is involved, so
/// a caller on the cooperative pool (e.g. a Hummingbird handler) cannot starve the thread its
/// answer depends on, and no caller ever runs on the group's threads (where `wait()` would trap).
final class PostgresConnectionPool: @unchecked Sendable {
    let configuration: PostgresConnection.Configuration
    let maximumConnections: Int
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    // All below guarded by `condition`.
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false

    init(location: PostgresLocation, maximumConnections: Int = 8) throws {
        var configuration: PostgresConnection.Configuration
        let tls = try Self.tls(location.tls)
        if let socketPath = location.socketPath {
            configuration = .init(unixSocketPath: socketPath, username: location.user, password: location.password, database: location.database)
        } else {
            configuration = .init(host: location.host, port: location.port, username: location.user,
                                  password: location.password, database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(Int64(location.connectTimeoutSeconds))
        self.configuration = configuration
        self.maximumConnections = maximumConnections
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "concepts.catalog.postgres")
        logger.logLevel = .error
        self.logger = logger
    }

    deinit {
        // A catalog dropped without `close()` (no transaction can be running: it would hold the
        // catalog): close its connections, then let the thread go, without blocking anyone.
        guard !closed else { return }
        let group = self.group
        let connections = idle
        let closes = connections.map { connection -> EventLoopFuture<Void> in connection.close() }
        guard !closes.isEmpty else {
            group.shutdownGracefully { _ in }
            return
        }
        // The connections live until closed (postgres-nio asserts that), the loop until then too.
        EventLoopFuture<Void>.andAllComplete(closes, on: group.next()).whenComplete { _ in
            withExtendedLifetime(connections) {}
            group.shutdownGracefully { _ in }
        }
    }

    /// The libpq `sslmode`s: `prefer`/`require` encrypt without checking the certificate (as
    /// libpq does), `verify-ca` checks the chain, `verify-full` the chain and the host name.
    private static func tls(_ mode: PostgresLocation.TLSMode) throws -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable, .allow:
            return .disable
        case .prefer, .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        let context = try NIOSSLContext(configuration: tls)
        return mode == .prefer ? .prefer(context) : .require(context)
    }

    /// Takes an idle connection, opens one while fewer than `maximumConnections` are out, or waits.
    func acquire() throws -> PostgresConnection {
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw PostgresPoolClosed()
            }
            if let connection = idle.popLast() {
                if connection.isClosed {
                    open -= 1
                    continue
                }
                condition.unlock()
                return connection
            }
            if open < maximumConnections {
                open += 1
                nextID += 1
                let id = nextID
                condition.unlock()
                do {
                    return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            condition.wait()
        }
    }

    /// Returns a connection; one in an unknown state (a failed ROLLBACK) is closed instead.
    /// A dropped connection is closed before its slot is freed (on the caller's thread, which
    /// may wait), so the event loop is never shut down under it.
    func release(_ connection: PostgresConnection, reusable: Bool) {
        let keep = reusable && !connection.isClosed
        if !keep { try? connection.close().wait() }
        condition.lock()
        if keep {
            idle.append(connection)
        } else {
            open -= 1
        }
        // Signal every waiter: an `acquire` and, after `shutdown`, the wait for the last connection.
        condition.broadcast()
        condition.unlock()
    }

    /// Waits (up to `timeout`) for the connections in use to come back, closes them all, then
    /// stops the event-loop thread: an event loop must outlive its connections' work. Waiting
    /// callers fail; later ones too.
    func shutdown(timeout: TimeInterval = 30) throws {
        condition.lock()
        guard !closed else {
            condition.unlock()
            return
        }
        closed = true
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while open > idle.count, condition.wait(until: deadline) {}
        let connections = idle
        idle = []
        open -= connections.count
        condition.unlock()
        for connection in connections { try? connection.close().wait() }
        try group.syncShutdownGracefully()
    }
}

/// `acquire()` after `shutdown()`.
struct PostgresPoolClosed: Error {}
