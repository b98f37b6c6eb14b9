import Foundation
import RegistryPostgres
import RegistryS3
import Testing
@testable import Registry

/// The catalog and blob backends the shared registry suites run against (`@Test(arguments:
/// TestBackend.available)`, issue 12: one suite, both backends): the embedded default always;
/// PostgreSQL + S3 when the test command started its servers (`CONCEPTS_TEST_POSTGRES_URL` and
/// `CONCEPTS_TEST_S3_*`, see scripts/test.sh).
enum TestBackend: String, Sendable, CustomTestStringConvertible {
    /// SQLite catalog and blob folder in a temporary directory (the default store).
    case local
    /// A fresh PostgreSQL database on the test cluster and a fresh bucket on the test S3 (moto).
    case postgres

    static let environment = ProcessInfo.processInfo.environment
    static let postgresURLVariable = "CONCEPTS_TEST_POSTGRES_URL"

    /// Every backend this run can reach.
    static var available: [TestBackend] { isRemoteAvailable ? [.local, .postgres] : [.local] }

    /// The backends whose blobs are local files (tests that edit or age blob files directly; their
    /// S3 counterparts are in RegistryS3Tests).
    static var withLocalBlobs: [TestBackend] { available.filter(\.hasLocalBlobs) }

    static var isRemoteAvailable: Bool {
        [postgresURLVariable, "CONCEPTS_TEST_S3_ENDPOINT", "CONCEPTS_TEST_S3_ACCESS_KEY", "CONCEPTS_TEST_S3_SECRET_KEY"]
            .allSatisfy { !(environment[$0] ?? "").isEmpty }
    }

    var hasLocalBlobs: Bool { self == .local }
    var testDescription: String { self == .local ? "SQLite + folder" : "PostgreSQL + S3" }

    /// A fresh, empty store on this backend with its per-host files under `root`; `cleanup` drops
    /// what lives outside `root` (the database).
    func makeStore(root: URL) throws -> (store: Store, cleanup: () -> Void) {
        switch self {
        case .local:
            return (try Store(root: root, create: true), {})
        case .postgres:
            guard let server = Self.environment[Self.postgresURLVariable], var components = URLComponents(string: server) else {
                throw RegistryError.io(path: Self.postgresURLVariable, reason: "not a URL")
            }
            let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            let database = "registry_test_\(suffix)"
            let admin = try PostgresCatalog(url: server, maximumConnections: 1)
            try admin.withoutTransaction { try $0.execute("CREATE DATABASE \(database)", []) }
            components.path = "/" + database
            let catalog = try PostgresCatalog(url: components.string ?? server)
            let blobs = try S3BlobStore(url: "s3://registry-test-\(suffix)/blobs", environment: [
                "AWS_ACCESS_KEY_ID": Self.environment["CONCEPTS_TEST_S3_ACCESS_KEY"] ?? "",
                "AWS_SECRET_ACCESS_KEY": Self.environment["CONCEPTS_TEST_S3_SECRET_KEY"] ?? "",
                "AWS_ENDPOINT_URL_S3": Self.environment["CONCEPTS_TEST_S3_ENDPOINT"] ?? "",
                "AWS_REGION": "us-east-1", "CONCEPTS_S3_COMPAT": "moto"])
            try S3Client.wait(blobs.client.createBucket())
            let store = try Store(root: root, catalog: catalog, blobs: blobs)
            return (store, {
                try? catalog.close()
                _ = try? admin.withoutTransaction { try $0.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", []) }
                try? admin.close()
            })
        }
    }
}

/// A store in a fresh temporary directory (and, on PostgreSQL + S3, a fresh database and bucket),
/// removed when the value is deinitialised.
final class TestStore {
    let root: URL
    let store: Store
    let backend: TestBackend
    private let cleanup: () -> Void

    init(backend: TestBackend = .local) throws {
        self.backend = backend
        root = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-test-\(UUID().uuidString)")
        (store, cleanup) = try backend.makeStore(root: root)
    }

    deinit {
        cleanup()
        try? FileManager.default.removeItem(at: root)
    }
}
