@testable import CaptionIndex
import Foundation
import Testing
@testable import Registry

/// Search results against the exact ranking computed with transformers (fixtures/generate_captions.py).
/// Tolerance: similarities within 2e-3 (fp16 storage); the golden rankings have gaps ≥ 3e-3.
@Suite struct CaptionsSearchTests {
    func check(_ results: [CaptionMatch], _ search: CaptionsFixtures.Search) {
        #expect(results.map(\.caption) == search.expected.map(\.caption), "query '\(search.query)'")
        for (r, e) in zip(results, search.expected) { #expect(abs(r.similarity - e.similarity) < 2e-3) }
    }

    @Test func searchByVectorEqualsExactRanking() throws {
        let t = try CaptionsFixtures.goldenStore()
        let golden = try CaptionsFixtures.searches()
        for search in golden.searches {
            check(try t.store.searchCaptions(vector: search.embedding, set: "golden", threshold: search.threshold, limit: 100), search)
        }
    }

    @Test func limitAndThreshold() throws {
        let t = try CaptionsFixtures.goldenStore()
        let search = try #require(try CaptionsFixtures.searches().searches.first { $0.expected.count >= 3 })
        let two = try t.store.searchCaptions(vector: search.embedding, set: "golden", threshold: search.threshold, limit: 2)
        #expect(two.map(\.caption) == search.expected.prefix(2).map(\.caption))
        let none = try t.store.searchCaptions(vector: search.embedding, set: "golden", threshold: 1.0001, limit: 10)
        #expect(none.isEmpty)
        let all = try t.store.searchCaptions(vector: search.embedding, set: "golden", threshold: -1, limit: 1000)
        #expect(all.count == 60)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.similarity >= $1.similarity })
    }

    @Test func searchByTextWithTheEncoder() throws {
        let t = try TestStore()
        _ = try t.store.addCaptionEncoder(name: "tiny", path: CaptionsFixtures.directory.appendingPathComponent("encoder"))
        let imported = try t.store.importCaptions(file: CaptionsFixtures.path("golden.txt"), set: "default", source: .encoder(nil))
        #expect(imported.imported == 60)
        for search in try CaptionsFixtures.searches().searches {
            let result = try t.store.searchCaptions(text: search.query, threshold: search.threshold, limit: 100)
            check(result.results, search)
            #expect(result.encodeMS >= 0 && result.searchMS >= 0)
        }
    }

    @Test func indexFollowsImports() throws {
        let t = try CaptionsFixtures.goldenStore()
        let search = try #require(try CaptionsFixtures.searches().searches.first)
        #expect(try t.store.searchCaptions(vector: search.embedding, set: "golden", threshold: -1, limit: 1000).count == 60)
        // One new caption whose embedding is the negated query: found only after the index is rebuilt.
        let directory = t.root.appendingPathComponent("extra")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let text = directory.appendingPathComponent("more.txt")
        try "the opposite caption\n".write(to: text, atomically: true, encoding: .utf8)
        let npy = directory.appendingPathComponent("more.npy")
        try writeNumpy(rows: [search.embedding.map { -$0 }], to: npy)
        let added = try t.store.importCaptions(file: text.path, set: "golden", source: .numpy(path: npy.path))
        #expect(added.imported == 1)
        let hits = try t.store.searchCaptions(vector: search.embedding.map { -$0 }, set: "golden", threshold: 0.999, limit: 10)
        #expect(hits.map(\.caption) == ["the opposite caption"])
    }

    /// A float32 C-order `.npy` (format 1.0).
    func writeNumpy(rows: [[Float]], to url: URL) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(rows[0].count)), }"
        while (10 + header.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)])
        data += Data(header.utf8)
        for row in rows { for v in row { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } } }
        try data.write(to: url)
    }

    @Test func unknownSetAndBadVector() throws {
        let t = try CaptionsFixtures.goldenStore()
        #expect(throws: CaptionError.unknownSet("nope")) { try t.store.searchCaptions(vector: [Float](repeating: 1, count: 16), set: "nope") }
        #expect(throws: CaptionError.self) { try t.store.searchCaptions(vector: [Float](repeating: 1, count: 3), set: "golden") }
        #expect(throws: CaptionError.self) { try t.store.searchCaptions(vector: [Float](repeating: 0, count: 16), set: "golden") }
        #expect(throws: CaptionError.noEncoder(projectionDim: 16)) {
            try t.store.searchCaptions(text: "a dog", set: "golden")
        }
    }
}
