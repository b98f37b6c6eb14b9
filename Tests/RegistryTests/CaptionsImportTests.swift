@testable import CaptionIndex
import Foundation
import TestSupport
import GRDB
import Testing
@testable import Registry

/// `captions import`: formats, validation of embeddings, duplicates, and one transaction per import.
@Suite struct CaptionsImportTests {
    func captionCount(_ store: Store) throws -> Int {
        try store.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caption") ?? -1 }
    }

    @Test func importsNumpyAndSkipsDuplicates() throws {
        let t = try CaptionsFixtures.goldenStore()
        #expect(try t.store.captionSets().map(\.captions) == [60])
        #expect(try t.store.captionSets().first?.dimension == 16)
        // Again (fp16 file this time): every caption is a duplicate.
        let again = try t.store.importCaptions(file: CaptionsFixtures.path("golden.txt"), set: "golden",
                                               source: .numpy(path: CaptionsFixtures.path("golden_f16.npy")))
        #expect(again == CaptionImportResult(set: "golden", imported: 0, skippedDuplicates: 60))
        // Stored embeddings are unit-norm fp16.
        let blob = try t.store.database.read { db in try Data.fetchOne(db, sql: "SELECT embedding FROM caption LIMIT 1") }
        let values = CaptionEmbedding.decode(try #require(blob))
        #expect(values.count == 16)
        #expect(abs(values.reduce(0) { $0 + $1 * $1 } - 1) < 2e-3)
    }

    @Test func fullTextSearchOverCaptions() throws {
        let t = try CaptionsFixtures.goldenStore()
        let hits = try t.store.matchCaptions("beach", set: "golden")
        #expect(hits.count == 12)
        #expect(hits.allSatisfy { $0.caption.contains("beach") })
    }

    /// Imports index their captions for full-text search in one statement after the inserts (the
    /// insert trigger is dropped and re-created inside the transaction): the index matches the
    /// table after each import, and after a failed one the trigger and index are as before.
    @Test func fullTextIndexFollowsEveryImport() throws {
        let t = try CaptionsFixtures.goldenStore()
        func triggers() throws -> [String] {
            try t.store.database.read { db in try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name") }
        }
        func integrityCheck() throws {
            try t.store.database.write { db in try db.execute(sql: "INSERT INTO caption_search (caption_search, rank) VALUES ('integrity-check', 1)") }
        }
        let before = try triggers()
        #expect(before.contains { $0.contains("caption_search_insert") })
        try integrityCheck()
        // A second set, with captions that the first does not have.
        let directory = t.root.appendingPathComponent("more")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "a lighthouse at dusk\nzebras crossing a river\n".write(to: directory.appendingPathComponent("more.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: CaptionsFixtures.path("golden_f32.npy")), to: directory.appendingPathComponent("all.npy"))
        #expect(throws: CaptionError.self) {  // 60 rows for 2 captions: refused, nothing changes
            try t.store.importCaptions(file: directory.appendingPathComponent("more.txt").path, set: "more",
                                       source: .numpy(path: directory.appendingPathComponent("all.npy").path))
        }
        #expect(try triggers() == before)
        #expect(try t.store.matchCaptions("lighthouse", set: "golden").isEmpty)
        let vectors = CaptionsScanIndexTests.numpy([[Float](repeating: 1, count: 16), (0..<16).map { Float($0) }])
        try vectors.write(to: directory.appendingPathComponent("two.npy"))
        let result = try t.store.importCaptions(file: directory.appendingPathComponent("more.txt").path, set: "more",
                                                source: .numpy(path: directory.appendingPathComponent("two.npy").path))
        #expect(result.imported == 2)
        #expect(try triggers() == before)
        try integrityCheck()
        #expect(try t.store.matchCaptions("lighthouse", set: "more").map(\.caption) == ["a lighthouse at dusk"])
        #expect(try t.store.matchCaptions("zebra", set: "more").map(\.caption) == ["zebras crossing a river"])
        #expect(try t.store.matchCaptions("beach", set: "golden").count == 12)
    }

    /// The full-text rows go through JSON: quotes, backslashes, control characters and non-ASCII
    /// text arrive intact, in batches of any size.
    @Test(arguments: [1, 2, 100])
    func fullTextBatchesEscapeCaptions(rows: Int) throws {
        let t = try TestStore()
        let captions = ["say \"cheese\" now", "back\\slash and \\\"both", "tab\there and\u{1}control", "café à 東京 🚲", "plain words"]
        try t.store.database.write { db in
            try db.execute(sql: "INSERT INTO caption_set (name, dimension, created_at) VALUES ('s', 1, '')")
            try db.execute(sql: "DROP TRIGGER caption_search_insert")
            var batch = try CaptionFullTextBatch(db: db, rows: rows)
            for caption in captions {
                try db.execute(sql: "INSERT INTO caption (set_id, caption, embedding) VALUES (1, ?, x'003c')", arguments: [caption])
                try batch.add(id: db.lastInsertedRowID, caption: caption)
            }
            try batch.flush()
            try db.execute(sql: "INSERT INTO caption_search (caption_search, rank) VALUES ('integrity-check', 1)")
            let stored = try Row.fetchAll(db, sql: "SELECT rowid, caption FROM caption_search ORDER BY rowid").map { $0["caption"] as String }
            #expect(stored == captions)
        }
        #expect(try t.store.matchCaptions("cheese", set: "s").map(\.caption) == [captions[0]])
        #expect(try t.store.matchCaptions("slash", set: "s").map(\.caption) == [captions[1]])
        #expect(try t.store.matchCaptions("control", set: "s").map(\.caption) == [captions[2]])
        #expect(try t.store.matchCaptions("東京", set: "s").map(\.caption) == [captions[3]])
    }

    @Test(arguments: [
        ("npy/golden_rows_short.npy", "rows"), ("npy/golden_dim_wrong.npy", "dimension"), ("npy/golden_nan.npy", "nan"),
        ("npy/golden_inf.npy", "inf"), ("npy/golden_zero_row.npy", "zero"),
    ])
    func badEmbeddingsImportNothing(file: String, problem: String) throws {
        let t = try CaptionsFixtures.goldenStore()
        let npy = CaptionsFixtures.path(file)
        // Into the existing set and into a new one (a new set takes any width, so not for "dimension"):
        // the catalog is unchanged either way.
        for set in problem == "dimension" ? ["golden"] : ["golden", "fresh"] {
            do {
                _ = try t.store.importCaptions(file: CaptionsFixtures.path("golden.txt"), set: set, source: .numpy(path: npy))
                Issue.record("\(file) was accepted")
            } catch let error as CaptionError {
                switch (problem, error) {
                case ("rows", .embeddingCountMismatch(let p, 59, 60)), ("dimension", .embeddingDimensionMismatch(let p, 8, 16, _)),
                     ("nan", .nonFiniteEmbedding(let p, 7)), ("inf", .nonFiniteEmbedding(let p, 9)), ("zero", .zeroEmbedding(let p, 11)):
                    #expect(p == npy)
                default: Issue.record("unexpected \(error)")
                }
            }
            #expect(try captionCount(t.store) == 60)
            #expect(try t.store.captionSets().map(\.name) == ["golden"])
        }
    }

    @Test func raggedCSVImportsNothing() throws {
        let t = try TestStore()
        let path = CaptionsFixtures.path("files/bad_ragged.csv")
        #expect(throws: CaptionError.malformedCaptionFile(path: path, line: 3, reason: "3 fields, the header has 2")) {
            try t.store.importCaptions(file: path, set: "s", source: .numpy(path: CaptionsFixtures.path("npy/f4.npy")))
        }
        #expect(try captionCount(t.store) == 0)
        #expect(try t.store.captionSets().isEmpty)
    }

    @Test func encoderDimensionIsChecked() throws {
        let t = try TestStore()
        _ = try t.store.addCaptionEncoder(name: "tiny", path: CaptionsFixtures.directory.appendingPathComponent("encoder"))
        let npy = CaptionsFixtures.path("npy/f4.npy")  // 3 × 5, the encoder projects to 16
        #expect(throws: CaptionError.embeddingDimensionMismatch(path: npy, dimension: 5, expected: 16, reason: "the projection size of encoder 'tiny'")) {
            try t.store.importCaptions(file: CaptionsFixtures.path("files/good.txt"), set: "s", source: .numpy(path: npy), encoder: "tiny")
        }
        #expect(throws: CaptionError.unknownEncoder("nope")) {
            try t.store.importCaptions(file: CaptionsFixtures.path("files/good.txt"), set: "s", source: .encoder("nope"))
        }
        #expect(try captionCount(t.store) == 0)
    }

    @Test func importsWithAnEncoder() throws {
        let t = try TestStore()
        let info = try t.store.addCaptionEncoder(name: "tiny", path: CaptionsFixtures.directory.appendingPathComponent("encoder"))
        #expect(info == CaptionEncoderInfo(name: "tiny", hiddenSize: 32, projectionDim: 16))
        #expect(throws: CaptionError.encoderExists("tiny")) {
            try t.store.addCaptionEncoder(name: "tiny", path: CaptionsFixtures.directory.appendingPathComponent("encoder"))
        }
        let result = try t.store.importCaptions(file: CaptionsFixtures.path("files/good.csv"), set: "web", source: .encoder(nil))
        #expect(result == CaptionImportResult(set: "web", imported: 5, skippedDuplicates: 1))
        #expect(try t.store.captionSets().first?.encoder == "tiny")
    }

    @Test func encoderFolderWithoutProjectionIsRefused() throws {
        let t = try TestStore()
        let folder = fixturesDirectory.appendingPathComponent("sd-tiny/base/text_encoder")
        #expect(throws: CaptionError.self) { try t.store.addCaptionEncoder(name: "x", path: folder) }
        #expect(try t.store.captionEncoders().isEmpty)
    }
}
