import Foundation
import Registry
import Testing
@testable import RegistryPostgres

/// `StoreCopy` between two PostgreSQL catalogs: ids kept, sequences moved, resumable, verified.
@Suite("Store copy on PostgreSQL", .enabled(if: PostgresTestDatabase.available, PostgresTestDatabase.skipReason))
struct StoreCopyPostgresTests {
    static func sha(_ c: Character) -> String { String(repeating: c, count: 64) }

    /// A small catalog: a base, a concept with ids that have gaps, search rows, 30 captions.
    static func populate(_ catalog: PostgresCatalog) throws {
        try catalog.write { connection in
            try connection.execute("INSERT INTO blob (sha256, size, stored_size) VALUES (?, 4, 3), (?, 8, 8)", [.text(sha("a")), .text(sha("b"))])
            try connection.execute("""
                INSERT INTO base_model (id, name, architecture, source_path, source_format, context_dim, bytes_total, bytes_new, created_at)
                VALUES (3, 'sd15', 'sd1', '/m', 'diffusers', 768, 10, 10, '2026-01-01T00:00:00Z')
                """)
            try connection.execute("INSERT INTO base_file (base_id, path, blob) VALUES (3, 'model_index.json', ?)", [.text(sha("a"))])
            try connection.execute("INSERT INTO concept (id, name, base_id, created_at) VALUES (5, 'corgi', 3, 't'), (9, 'vangogh', 3, 't')")
            try connection.execute("""
                INSERT INTO concept_version (id, concept_id, version, kind, description, source_format, compression_policy, max_relative_error, stored_bytes, created_at)
                VALUES (11, 5, 1, 'object', 'a dog', 'diffusers', 'lossless', 0.0, 100, 't'), (12, 5, 2, 'object', '', 'diffusers', 'rank:4', 1e-3, 50, 't'),
                       (13, 9, 1, 'style', 'night sky', 'diffusers', 'lossless', 'NaN'::float8, 70, 't')
                """)
            try connection.execute("INSERT INTO version_token (version_id, position, token, category, embedding_blob, dimension) VALUES (11, 0, '<new1>', 'dog', ?, 768)", [.text(sha("b"))])
            try connection.execute("INSERT INTO alias (concept_id, alias, version_id) VALUES (5, 'stable', 11)")
            try connection.execute("INSERT INTO concept_search (rowid, name, description, categories, tokens, tags) VALUES (5, 'corgi', 'a dog', 'dog', '<new1>', 'stable')")
            try connection.execute("INSERT INTO caption_set (id, name, dimension, created_at) VALUES (2, 'laion', 4, 't')")
            let insert = try connection.prepare("INSERT INTO caption (set_id, caption, embedding) VALUES (2, ?, ?)")
            for index in 0..<30 { try insert.execute([.text("caption number \(index)"), .blob(Data([UInt8(index), 0, 1, 2]))]) }
        }
    }

    static func dump(_ catalog: PostgresCatalog) throws -> [String: [[CatalogValue]]] {
        try catalog.read { connection in
            var tables: [String: [[CatalogValue]]] = [:]
            for table in StoreCopy.tables {
                tables[table.name] = try connection.fetchAll("SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) ORDER BY 1, 2").map(\.values)
            }
            return tables
        }
    }

    @Test("a copy keeps every row and id, moves the identity sequences, and resumes after an interruption")
    func copiesAndResumes() throws {
        try PostgresTestDatabase.withCatalog(migrated: true) { source, _ in
            try Self.populate(source)
            try PostgresTestDatabase.withCatalog { destination, _ in
                var batches = 0
                let reports = try StoreCopy.copy(from: source, to: destination, batchSize: 7) { _, _ in batches += 1 }
                let captions = try #require(reports.first(where: { $0.table == "caption" }))
                #expect(captions.sourceRows == 30)
                #expect(captions.inserted == 30)
                #expect(batches >= 5)   // 30 captions in batches of 7, and the other tables
                try StoreCopy.verify(source, destination)
                let (from, to) = (try Self.dump(source), try Self.dump(destination))
                for table in StoreCopy.tables {
                    // NaN ≠ NaN as a value: compare descriptions.
                    #expect(String(describing: from[table.name]) == String(describing: to[table.name]), "\(table.name)")
                }
                // Copied rows are searchable (the generated columns filled themselves).
                #expect(try destination.read { try $0.fetchValue("SELECT COUNT(*) FROM caption WHERE search_document @@ to_tsquery('simple', 'numb:* & 29')", as: Int.self) } == 1)
                #expect(try destination.read { try $0.fetchValue("SELECT rowid FROM concept_search WHERE document @@ to_tsquery('simple', 'new1:*')", as: Int.self) } == 5)
                // New rows get ids past the copied ones.
                let next = try destination.write { connection in
                    try connection.insertReturningID("INSERT INTO concept (name, base_id, created_at) VALUES ('new', 3, 't')", [CatalogValue]())
                }
                #expect(next == 10)

                // An interruption: the destination lost the last captions and a version; a second copy
                // adds exactly those and leaves the rest.
                try destination.write { connection in
                    try connection.execute("DELETE FROM caption WHERE id > 20")
                    try connection.execute("DELETE FROM concept WHERE name = 'new'")
                }
                let again = try StoreCopy.copy(from: source, to: destination, batchSize: 1000)
                #expect(again.first(where: { $0.table == "caption" })?.inserted == 10)
                #expect(again.filter { $0.table != "caption" && $0.table != "concept_search" }.allSatisfy { $0.inserted == 0 })
                try StoreCopy.verify(source, destination)
            }
        }
    }

    @Test("verify reports a table whose rows differ in number; an unknown table stops the copy")
    func verifyAndUnknownTables() throws {
        try PostgresTestDatabase.withCatalog(migrated: true) { source, _ in
            try Self.populate(source)
            try PostgresTestDatabase.withCatalog { destination, _ in
                try StoreCopy.copy(from: source, to: destination)
                try destination.write { try $0.execute("DELETE FROM alias") }
                #expect(throws: StoreCopy.Failure.mismatch(["alias: 1 rows in the source, 0 in the copy"])) {
                    try StoreCopy.verify(source, destination)
                }
                try source.write { try $0.execute("CREATE TABLE from_the_future (x bigint)") }
                #expect(throws: StoreCopy.Failure.unknownTables(["from_the_future"], location: source.location)) {
                    try StoreCopy.copy(from: source, to: destination)
                }
            }
        }
    }
}

/// `StoreCopy` across engines: SQLite → PostgreSQL → SQLite gives back the same rows.
@Suite("Store copy between SQLite and PostgreSQL", .enabled(if: PostgresTestDatabase.available, PostgresTestDatabase.skipReason))
struct StoreCopyAcrossEnginesTests {
    /// Rows written with bound values only (the SQL both engines accept).
    static func populate(_ catalog: any Catalog) throws {
        let sha = { (c: Character) in CatalogValue.text(String(repeating: c, count: 64)) }
        try catalog.write { connection in
            try connection.execute("INSERT INTO blob (sha256, size, stored_size) VALUES (?, 4, 3), (?, 8, 8)", [sha("a"), sha("b")])
            try connection.execute("""
                INSERT INTO base_model (id, name, architecture, source_path, source_format, context_dim, bytes_total, bytes_new, created_at)
                VALUES (3, 'sd15', 'sd1', '/m', 'diffusers', 768, 10, 10, '2026-01-01T00:00:00Z')
                """, [CatalogValue]())
            try connection.execute("INSERT INTO concept (id, name, base_id, created_at) VALUES (5, 'corgi', 3, 't')", [CatalogValue]())
            try connection.execute("""
                INSERT INTO concept_version (id, concept_id, version, kind, description, source_format, compression_policy, max_relative_error, stored_bytes, created_at)
                VALUES (11, 5, 1, 'object', 'a dog', 'diffusers', 'lossless', ?, 100, 't')
                """, [.real(0.125)])
            try connection.execute("INSERT INTO version_token (version_id, position, token, category, embedding_blob, dimension) VALUES (11, 0, '<new1>', 'dog', ?, 768)", [sha("b")])
            try connection.execute("INSERT INTO concept_search (rowid, name, description, categories, tokens, tags) VALUES (5, 'corgi', 'a dog', 'dog', '<new1>', '')", [CatalogValue]())
            try connection.execute("INSERT INTO caption_set (id, name, dimension, created_at) VALUES (2, 'laion', 4, 't')", [CatalogValue]())
            let insert = try connection.prepare("INSERT INTO caption (set_id, caption, embedding) VALUES (2, ?, ?)")
            for index in 0..<30 { try insert.execute([.text("caption number \(index)"), .blob(Data([UInt8(index), 0, 1, 2]))]) }
            try connection.execute("INSERT INTO regset (id, name, source, created_at) VALUES (4, 'dogs', 'query', 't')", [CatalogValue]())
            try connection.execute("INSERT INTO regset_caption (regset_id, position, caption, similarity) VALUES (4, 0, 'a dog', ?), (4, 1, 'a cat', NULL)", [.real(0.5)])
            try connection.execute("INSERT INTO regset_gram (regset_id, base_id, dimension, feature_rows, gram, created_at) VALUES (4, 3, 1, 2, ?, 't')", [.blob(Data(repeating: 7, count: 8))])
        }
    }

    static func dump(_ catalog: any Catalog) throws -> [String] {
        try catalog.read { connection in
            try StoreCopy.tables.flatMap { table in
                try connection.fetchAll("SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) ORDER BY 1, 2", [CatalogValue]())
                    .map { "\(table.name): \($0.values)" }
            }
        }
    }

    @Test("SQLite → PostgreSQL → SQLite: the same rows, searchable on both engines")
    func roundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try SQLiteCatalog(path: directory.appendingPathComponent("a.sqlite").path)
        try original.migrate()
        try Self.populate(original)
        try PostgresTestDatabase.withCatalog { postgres, _ in
            try StoreCopy.copy(from: original, to: postgres, batchSize: 8)
            try StoreCopy.verify(original, postgres)
            #expect(try postgres.read { try $0.fetchValue("SELECT COUNT(*) FROM caption WHERE search_document @@ to_tsquery('simple', 'numb:* & 7')", as: Int.self) } == 1)
            #expect(try postgres.read { try $0.fetchValue("SELECT rowid FROM concept_search WHERE document @@ to_tsquery('simple', 'new1:*')", as: Int.self) } == 5)

            let back = try SQLiteCatalog(path: directory.appendingPathComponent("b.sqlite").path)
            try StoreCopy.copy(from: postgres, to: back)
            try StoreCopy.verify(postgres, back)
            #expect(try Self.dump(back) == Self.dump(original))
            // SQLite's caption index was filled by its triggers as the rows arrived.
            #expect(try back.read { try $0.fetchValue("SELECT COUNT(*) FROM caption_search WHERE caption_search MATCH 'number'", as: Int.self) } == 30)
            #expect(try back.read { try $0.fetchValue("SELECT rowid FROM concept_search WHERE concept_search MATCH 'new1'", as: Int.self) } == 5)
            try? back.close()
        }
        try? original.close()
    }
}
