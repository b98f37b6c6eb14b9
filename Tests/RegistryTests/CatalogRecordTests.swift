import Foundation
import Testing
@testable import Registry

/// Typed rows: `CatalogRow.decode` by column name (camelCase → snake_case), typed errors for a
/// missing column or a value of another type, and `insert` statements from `Encodable` records.
@Suite("catalog records")
struct CatalogRecordTests {
    enum Mode: String, Codable { case dense, factors }

    struct Sample: Codable, Equatable {
        var versionID: Int64
        var upBlob: String
        var downBlob: String?
        var relativeError: Double
        var mode: Mode
        var sha256: String
    }

    @Test func columnNames() {
        #expect(catalogColumnName("versionID") == "version_id")
        #expect(catalogColumnName("patchIndexBlob") == "patch_index_blob")
        #expect(catalogColumnName("sha256") == "sha256")
        #expect(catalogColumnName("sigmaSha256") == "sigma_sha256")
        #expect(catalogColumnName("id") == "id")
    }

    @Test func decodesByColumnName() throws {
        let row = CatalogRow(columns: ["up_blob", "version_id", "relative_error", "mode", "sha256", "down_blob"],
                             values: [.text("u"), .integer(7), .real(0.25), .text("factors"), .text("s"), .null])
        #expect(try row.decode(Sample.self) == Sample(versionID: 7, upBlob: "u", downBlob: nil, relativeError: 0.25, mode: .factors, sha256: "s"))
        // An optional column the query did not select is nil; an integer widens to Double.
        let narrow = CatalogRow(columns: ["version_id", "up_blob", "relative_error", "mode", "sha256"],
                                values: [.integer(1), .text("u"), .integer(0), .text("dense"), .text("s")])
        #expect(try narrow.decode(Sample.self).downBlob == nil)
        #expect(try narrow.decode(Sample.self).relativeError == 0)
    }

    @Test func refusesMissingColumnsAndOtherTypes() {
        let missing = CatalogRow(columns: ["version_id"], values: [.integer(1)])
        #expect(throws: CatalogError.missingColumn("up_blob", in: ["version_id"])) { try missing.decode(Sample.self) }
        let wrong = CatalogRow(columns: ["up_blob", "version_id", "relative_error", "mode", "sha256"],
                               values: [.text("u"), .text("seven"), .real(0), .text("dense"), .text("s")])
        #expect(throws: CatalogError.typeMismatch(column: "version_id", expected: "Int64", found: .text("seven"))) { try wrong.decode(Sample.self) }
        let badEnum = CatalogRow(columns: ["up_blob", "version_id", "relative_error", "mode", "sha256"],
                                 values: [.text("u"), .integer(1), .real(0), .text("sparse"), .text("s")])
        #expect(throws: (any Error).self) { try badEnum.decode(Sample.self) }
    }

    @Test func insertStatements() throws {
        let record = Sample(versionID: 3, upBlob: "u", downBlob: nil, relativeError: 0.5, mode: .dense, sha256: "s")
        let (sql, values) = try SQLiteConnectionProbe.insertStatement(record, into: "t", "ON CONFLICT (version_id) DO NOTHING")
        #expect(sql == "INSERT INTO t (version_id, up_blob, relative_error, mode, sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT (version_id) DO NOTHING")
        #expect(values == [.integer(3), .text("u"), .real(0.5), .text("dense"), .text("s")])
        struct Nested: Encodable { var name = "n"; var shape = [1, 2] }
        #expect(throws: CatalogError.self) { try SQLiteConnectionProbe.insertStatement(Nested(), into: "t", "") }
    }

    /// Records written and read back through a real catalog (the test backend's).
    @Test(arguments: TestBackend.available)
    func roundTripThroughTheCatalog(backend: TestBackend) throws {
        let t = try TestStore(backend: backend)
        let token = APITokenRecord(name: "ci", scope: "read", sha256: String(repeating: "a", count: 64), createdAt: "2026-01-01", lastUsedAt: nil)
        try t.store.catalog.write { c in try c.insert(token, into: "api_token") }
        let back = try t.store.catalog.read { c in try c.fetchOne(APITokenRecord.self, "SELECT * FROM api_token WHERE name = ?", ["ci"]) }
        #expect(back?.sha256 == token.sha256)
        #expect(back?.lastUsedAt == nil)
        // ON CONFLICT … DO NOTHING: nothing changed, no id.
        let changed = try t.store.catalog.write { c in try c.insert(token, into: "api_token", "ON CONFLICT (name) DO NOTHING") }
        #expect(changed == 0)
        let set = CaptionSetRecord(id: nil, name: "s", dimension: 4, encoder: nil, revision: nil, createdAt: "now")
        let first = try t.store.catalog.write { c in try c.insertReturningID(set, into: "caption_set", "ON CONFLICT (name) DO NOTHING") }
        let again = try t.store.catalog.write { c in try c.insertReturningID(set, into: "caption_set", "ON CONFLICT (name) DO NOTHING") }
        #expect(first != nil)
        #expect(again == nil)
    }
}

/// `insertStatement` is a static member of the `CatalogConnection` extension: any conforming type reaches it.
private typealias SQLiteConnectionProbe = SQLiteConnection
