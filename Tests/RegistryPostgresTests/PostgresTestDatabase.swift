import Foundation
import Registry
import Testing
@testable import RegistryPostgres

/// A database of its own for one test, on the server named by `CONCEPTS_TEST_POSTGRES_URL`
/// (`scripts/services/postgres.sh start` writes it): created with a random name, dropped after,
/// so tests run in parallel without seeing each other's tables or advisory locks.
enum PostgresTestDatabase {
    static let serverURL: String? = {
        let value = ProcessInfo.processInfo.environment["CONCEPTS_TEST_POSTGRES_URL"] ?? ""
        return value.isEmpty ? nil : value
    }()

    static var available: Bool { serverURL != nil }

    static let skipReason: Comment = "CONCEPTS_TEST_POSTGRES_URL is not set: start a cluster with scripts/services/postgres.sh start and source .build/services/postgres.env"

    enum Failure: Error { case notConfigured, badURL(String) }

    /// Creates a database, hands its URL to `body`, drops it (with the connections left open).
    @discardableResult
    static func with<T>(_ body: (String) throws -> T) throws -> T {
        guard let serverURL else { throw Failure.notConfigured }
        guard var components = URLComponents(string: serverURL) else { throw Failure.badURL(serverURL) }
        let name = "concepts_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = try PostgresCatalog(url: serverURL, maximumConnections: 1)
        defer { try? admin.close() }
        try admin.withoutTransaction { try $0.execute("CREATE DATABASE \(name)") }
        defer { _ = try? admin.withoutTransaction { try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") } }
        components.path = "/" + name
        return try body(components.string ?? serverURL)
    }

    /// A catalog on a fresh database, closed after `body`.
    @discardableResult
    static func withCatalog<T>(migrated: Bool = false, _ body: (PostgresCatalog, String) throws -> T) throws -> T {
        try with { url in
            let catalog = try PostgresCatalog(url: url)
            defer { try? catalog.close() }
            if migrated { try catalog.migrate() }
            return try body(catalog, url)
        }
    }
}

/// Runs `body(i)` on `count` threads at once (real threads: the catalog's API blocks).
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> [any Error] {
    let errors = ErrorBox()
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            do { try body(index) } catch { errors.append(error) }
            group.leave()
        }
        thread.start()
    }
    group.wait()
    return errors.all
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func append(_ error: any Error) { lock.withLock { errors.append(error) } }
    var all: [any Error] { lock.withLock { errors } }
}

/// The `reason` of a `CatalogError.engine`, or nil.
func engineReason(_ error: any Error) -> String? {
    if case .engine(_, _, let reason)? = error as? CatalogError { return reason }
    return nil
}
