import Foundation
import RegistryPostgres
import Testing
import TestSupport

/// `concepts store copy` (issue 12 §6) through the CLI: the embedded default → PostgreSQL + S3 → a new
/// SQLite + folder store, each side verified, the copy resumable, and the exports of the round trip
/// identical byte for byte. Needs the test command's PostgreSQL and moto (scripts/test.sh starts them).
/// Whether the test command's PostgreSQL and S3 are up.
private let backendServersAvailable = ["CONCEPTS_TEST_POSTGRES_URL", "CONCEPTS_TEST_S3_ENDPOINT", "CONCEPTS_TEST_S3_ACCESS_KEY", "CONCEPTS_TEST_S3_SECRET_KEY"]
    .allSatisfy { !(ProcessInfo.processInfo.environment[$0] ?? "").isEmpty }

@Suite("store copy between backends", .enabled(if: backendServersAvailable,
                                                "needs CONCEPTS_TEST_POSTGRES_URL and CONCEPTS_TEST_S3_* (scripts/test.sh starts the servers)"))
struct StoreCopyCLITests {
    static let environment = ProcessInfo.processInfo.environment

    @Test("default → PostgreSQL + S3 → default: verified on each side, resumable, identical exports")
    func roundTrip() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-copy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let server = try #require(Self.environment["CONCEPTS_TEST_POSTGRES_URL"])
        var components = try #require(URLComponents(string: server))
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let database = "copy_test_\(suffix)"
        let admin = try PostgresCatalog(url: server, maximumConnections: 1)
        try admin.withoutTransaction { try $0.execute("CREATE DATABASE \(database)", []) }
        defer {
            _ = try? admin.withoutTransaction { try $0.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", []) }
            try? admin.close()
        }
        components.path = "/" + database
        let catalogURL = try #require(components.string)
        let blobsURL = "s3://copy-test-\(suffix)/store"
        let env = [
            "AWS_ACCESS_KEY_ID": Self.environment["CONCEPTS_TEST_S3_ACCESS_KEY"] ?? "",
            "AWS_SECRET_ACCESS_KEY": Self.environment["CONCEPTS_TEST_S3_SECRET_KEY"] ?? "",
            "AWS_ENDPOINT_URL": Self.environment["CONCEPTS_TEST_S3_ENDPOINT"] ?? "", "AWS_REGION": "us-east-1",
            "CONCEPTS_S3_COMPAT": "moto",
        ]
        func run(_ args: [String]) throws -> [String: Any] {
            let r = try runConcepts(args + ["--json"], env: env)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            return try jsonObject(r.stdout)
        }
        let local = root.appendingPathComponent("local").path
        _ = try run(["--store", local, "base", "add", "tiny", fixtureURL("sd-tiny/base").path])
        _ = try run(["--store", local, "register", "cat", "--base", "tiny", "--category", "cat", fixtureURL("sd-tiny/concepts/cat-diffusers").path])
        _ = try run(["--store", local, "register", "dog", "--base", "tiny", "--category", "dog", fixtureURL("sd-tiny/concepts/dog-diffusers").path])

        let up = try run(["--store", local, "store", "copy", "--to-catalog", catalogURL, "--to-blobs", blobsURL])
        #expect(up["bases"] as? Int == 1 && up["concepts"] as? Int == 2 && up["versions"] as? Int == 2)
        #expect((up["blobs"] as? Int ?? 0) > 0 && (up["bytes"] as? Int ?? 0) > 0)
        // Resumable: a second run finds everything there.
        let again = try run(["--store", local, "store", "copy", "--to-catalog", catalogURL, "--to-blobs", blobsURL])
        #expect(again["blobs"] as? Int == 0 && again["versions"] as? Int == 2)

        let remote = ["--store", root.appendingPathComponent("host").path, "--catalog", catalogURL, "--blobs", blobsURL]
        #expect((try run(remote + ["verify"])["problems"] as? [Any])?.isEmpty == true)
        #expect((try run(remote + ["list"])["concepts"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["cat", "dog"])

        let back = root.appendingPathComponent("back")
        let down = try run(remote + ["store", "copy", "--to-catalog", back.appendingPathComponent("catalog.sqlite").path,
                                     "--to-blobs", back.appendingPathComponent("blobs").path])
        #expect(down["blobs"] as? Int == up["blobs"] as? Int)
        #expect((try run(["--store", back.path, "verify"])["problems"] as? [Any])?.isEmpty == true)

        for (reference, format) in [("cat", "lora"), ("dog@1", "compvis"), ("cat", "diffusers")] {
            var files: [String: Data] = [:]
            for (name, store) in [("local", ["--store", local]), ("remote", remote), ("back", ["--store", back.path])] {
                let out = root.appendingPathComponent("export-\(name)-\(format)")
                _ = try run(store + ["export", reference, "--format", format, "--out", out.path])
                for file in try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() {
                    let data = try Data(contentsOf: out.appendingPathComponent(file))
                    if let first = files[file] { #expect(first == data, "\(reference) \(format) \(file) differs on \(name)") }
                    else { files[file] = data }
                }
            }
            #expect(!files.isEmpty)
        }
    }
}
