import Foundation
import Testing
@testable import Registry

/// The catalog and blob backends the shared registry suites run against (`@Test(arguments:
/// TestBackend.available)`): the embedded default always; PostgreSQL when
/// `CONCEPTS_TEST_POSTGRES_URL` names a server (CI starts a throw-away cluster).
enum TestBackend: String, Sendable, CustomTestStringConvertible {
    /// SQLite catalog and blob folder in a temporary directory (the default store).
    case local
    /// A PostgreSQL catalog at `CONCEPTS_TEST_POSTGRES_URL` (blobs in the temporary directory).
    case postgres

    static let postgresURLVariable = "CONCEPTS_TEST_POSTGRES_URL"

    /// Every backend this run can reach.
    static var available: [TestBackend] {
        let url = ProcessInfo.processInfo.environment[postgresURLVariable] ?? ""
        return url.isEmpty ? [.local] : [.local, .postgres]
    }

    var testDescription: String { rawValue }

    /// A fresh, empty store on this backend with its per-host files under `root`.
    func makeStore(root: URL) throws -> Store {
        switch self {
        case .local:
            return try Store(root: root, create: true)
        case .postgres:
            // The PostgreSQL catalog is connected here when it lands (issue 12): a fresh database or
            // schema per store from `CONCEPTS_TEST_POSTGRES_URL`, e.g.
            //   Store(root: root, catalog: try PostgresCatalog(url: …, schema: "t_\(UUID())"), blobs: BlobStore(directory: …))
            throw TestBackendError.notLinked(self)
        }
    }
}

enum TestBackendError: Error, CustomStringConvertible {
    case notLinked(TestBackend)
    var description: String {
        switch self {
        case .notLinked(let backend):
            "\(TestBackend.postgresURLVariable) is set but this build has no \(backend.rawValue) catalog to connect (TestStore.swift, TestBackend.makeStore)"
        }
    }
}

/// A store in a fresh temporary directory, removed when the value is deinitialised.
final class TestStore {
    let root: URL
    let store: Store
    let backend: TestBackend

    init(backend: TestBackend = .local) throws {
        self.backend = backend
        root = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-test-\(UUID().uuidString)")
        store = try backend.makeStore(root: root)
    }

    deinit { try? FileManager.default.removeItem(at: root) }
}
