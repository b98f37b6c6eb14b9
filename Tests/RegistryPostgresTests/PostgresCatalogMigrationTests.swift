import Foundation
import Registry
import RegistrySchema
import Testing
@testable import RegistryPostgres

/// schema/postgres migrations on a real server: once, under the advisory lock, and the text search.
@Suite("PostgreSQL catalog migrations", .enabled(if: PostgresTestDatabase.available, PostgresTestDatabase.skipReason))
struct PostgresCatalogMigrationTests {
    /// Every table of schema/migrations (SQLite) exists in PostgreSQL with the same columns
    /// (FTS5's caption_search excepted, replaced by caption.search_document).
    static let tables = [
        "blob", "base_model", "base_tensor", "base_file", "base_layer", "concept", "concept_version", "version_token",
        "version_layer", "version_source", "alias", "concept_search", "caption_encoder", "caption_encoder_file",
        "caption_set", "caption", "regset", "regset_caption", "regset_gram", "merge_key", "merge_key_layer",
        "compose_basis", "composition", "composition_version", "composition_layer", "composition_token",
        "api_token", "export_file", "schema_migration",
    ]

    @Test("migrate twice applies each migration once")
    func migrateTwice() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            #expect(try catalog.appliedMigrations() == [])
            try catalog.migrate()
            try catalog.migrate()
            let identifiers = try RegistrySchema.postgresMigrations().map(\.identifier)
            #expect(identifiers == ["0001_initial", "0002_captions", "0003_composition", "0004_service"])
            #expect(try catalog.appliedMigrations() == identifiers)
            let tables = try catalog.read {
                try $0.fetchColumn("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1", as: String.self)
            }
            #expect(tables == Self.tables.sorted())
        }
    }

    @Test("two catalogs migrating at once (two servers starting) migrate once")
    func concurrentMigrate() throws {
        try PostgresTestDatabase.with { url in
            let errors = onThreads(3) { _ in
                let catalog = try PostgresCatalog(url: url)
                defer { try? catalog.close() }
                try catalog.migrate()
            }
            #expect(errors.isEmpty, "\(errors.map { String(describing: $0) })")
            let catalog = try PostgresCatalog(url: url)
            defer { try? catalog.close() }
            #expect(try catalog.read { try $0.fetchValue("SELECT COUNT(*) FROM schema_migration", as: Int.self) } == 4)
            // The advisory lock was released: it can be taken without waiting.
            #expect(try catalog.read { try $0.fetchValue("SELECT pg_try_advisory_lock(?)::int", [.integer(PostgresCatalog.migrationLockKey)], as: Int.self) } == 1)
        }
    }

    @Test("a catalog with an unknown newer migration is refused (schemaTooNew)")
    func schemaTooNew() throws {
        try PostgresTestDatabase.withCatalog(migrated: true) { catalog, _ in
            try catalog.write { try $0.execute("INSERT INTO schema_migration (identifier) VALUES ('0099_future')") }
            #expect(throws: CatalogError.schemaTooNew(location: catalog.location, applied: "0099_future")) {
                try catalog.migrate()
            }
        }
    }

    @Test("identity ids, bytea columns and the shared SQL of the registry work on the schema")
    func schemaAcceptsRegistrySQL() throws {
        try PostgresTestDatabase.withCatalog(migrated: true) { catalog, _ in
            try catalog.write { connection in
                let base = try connection.insertReturningID("""
                    INSERT INTO base_model (name, architecture, source_path, source_format, context_dim, bytes_total, bytes_new, created_at)
                    VALUES (?, 'sd1', '/x', 'diffusers', 768, 1, 1, '2026-01-01T00:00:00Z')
                    """, [.text("sd15")])
                #expect(base == 1)
                try connection.execute("INSERT INTO blob (sha256, size, stored_size) VALUES (?, ?, ?) ON CONFLICT(sha256) DO NOTHING",
                                       [.text(String(repeating: "a", count: 64)), .integer(10), .integer(5)])
                try connection.execute("INSERT INTO blob (sha256, size, stored_size) VALUES (?, ?, ?) ON CONFLICT(sha256) DO NOTHING",
                                       [.text(String(repeating: "a", count: 64)), .integer(10), .integer(5)])
                // An explicit id (as a store copy writes) is accepted by the identity column.
                try connection.execute("INSERT INTO caption_set (id, name, dimension, created_at) VALUES (7, 's', 4, 'now')")
                try connection.execute("INSERT INTO caption (set_id, caption, embedding) VALUES (7, ?, ?)", [.text("x"), .blob(Data([1, 2, 3, 4]))])
            }
            #expect(try catalog.read { try $0.fetchValue("SELECT embedding FROM caption", as: Data.self) } == Data([1, 2, 3, 4]))
            #expect {
                try catalog.write { try $0.execute("INSERT INTO blob (sha256, size, stored_size) VALUES ('short', 1, 1)") }
            } throws: { (engineReason($0) ?? "").contains("SQLSTATE 23514") }
        }
    }

    @Test("concept and caption text search: prefixes, all words, punctuation as separators")
    func textSearch() throws {
        try PostgresTestDatabase.withCatalog(migrated: true) { catalog, _ in
            try catalog.write { connection in
                try connection.execute("DELETE FROM concept_search WHERE rowid = ?", [.integer(1)])
                try connection.execute("INSERT INTO concept_search (rowid, name, description, categories, tokens, tags) VALUES (?, ?, ?, ?, ?, ?)",
                                       [.integer(1), .text("corgi"), .text("A corgi on the beach"), .text("dog"), .text("<new1>"), .text("stable v1")])
                try connection.execute("INSERT INTO concept_search (rowid, name, description, categories, tokens, tags) VALUES (?, ?, ?, ?, ?, ?)",
                                       [.integer(2), .text("van-gogh"), .text("Swirling night sky"), .text("style"), .text("<style1>"), .text("")])
                try connection.execute("INSERT INTO caption_set (name, dimension, created_at) VALUES ('laion', 2, 'now')")
                for text in ["A photo of a dog on the beach", "a dog's portrait, studio light", "Cat sleeping on a sofa"] {
                    try connection.execute("INSERT INTO caption (set_id, caption, embedding) VALUES (1, ?, ?)", [.text(text), .blob(Data([0, 0, 0, 0]))])
                }
            }
            func concepts(_ query: String) throws -> [Int64] {
                try catalog.read {
                    try $0.fetchColumn("SELECT rowid FROM concept_search WHERE document @@ to_tsquery('simple', ?) ORDER BY rowid", [.text(query)], as: Int64.self)
                }
            }
            #expect(try concepts("new1:*") == [1])          // `<new1>` is indexed as the word new1
            #expect(try concepts("cor:* & beach:*") == [1])
            #expect(try concepts("style:*") == [2])          // tokens and categories
            #expect(try concepts("gogh:*") == [2])           // names split at punctuation
            #expect(try concepts("corgi:* & night:*") == [])
            let captions = try catalog.read {
                try $0.fetchColumn("""
                    SELECT c.caption FROM caption c WHERE c.search_document @@ to_tsquery('simple', ?) AND c.set_id = ?
                    ORDER BY ts_rank(c.search_document, to_tsquery('simple', ?)) DESC, c.id LIMIT ?
                    """, [.text("dog:* & port:*"), .integer(1), .text("dog:* & port:*"), .integer(10)], as: String.self)
            }
            #expect(captions == ["a dog's portrait, studio light"])
        }
    }
}
