@testable import CaptionIndex
import Foundation
import GRDB
import Tensors
import Testing
@testable import Registry

/// The caption search index (`CaptionScanIndex`): results equal an exact scan of the catalog, the
/// RaBitQ bound holds, and damaged side files are rebuilt.
@Suite struct CaptionsScanIndexTests {
    static let n = 3000, d = 64

    /// A store with set `s` of 3,000 clustered unit vectors (30 clusters; spread 0.6) and 8 queries.
    static func clusteredStore(d: Int = d, n: Int = n) throws -> (TestStore, [[Float]]) {
        let t = try TestStore()
        var random = SplitMix64(seed: 7)
        func unit(_ v: [Float]) -> [Float] { let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot(); return v.map { $0 / norm } }
        func around(_ c: [Float], _ spread: Float) -> [Float] { unit(c.map { $0 + spread / Float(d).squareRoot() * Float(random.nextGaussian()) }) }
        let centres = (0..<30).map { _ in unit((0..<d).map { _ in Float(random.nextGaussian()) + 0.5 }) }  // not centred at 0
        let rows = (0..<n).map { around(centres[$0 % 30], 0.6) }
        let queries = (0..<8).map { around(centres[($0 * 7) % 30], 0.4) }
        let directory = t.root.appendingPathComponent("input")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try (0..<n).map { "caption \($0)" }.joined(separator: "\n").write(to: directory.appendingPathComponent("c.txt"), atomically: true, encoding: .utf8)
        try numpy(rows).write(to: directory.appendingPathComponent("c.npy"))
        _ = try t.store.importCaptions(file: directory.appendingPathComponent("c.txt").path, set: "s",
                                       source: .numpy(path: directory.appendingPathComponent("c.npy").path))
        return (t, queries)
    }

    static func numpy(_ rows: [[Float]]) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(rows[0].count)), }"
        while (10 + header.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)]) + Data(header.utf8)
        for row in rows { for v in row { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } } }
        return data
    }

    /// Exact (Float64) similarities of every caption of set `s` with `query`, best first.
    static func exact(_ t: TestStore, _ query: [Float]) throws -> [(id: Int64, similarity: Double)] {
        let norm = query.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let rows = try t.store.database.read { db in try Row.fetchAll(db, sql: "SELECT c.id, c.embedding FROM caption c JOIN caption_set s ON s.id = c.set_id WHERE s.name = 's'") }
        return rows.map { row -> (Int64, Double) in
            let values = CaptionEmbedding.decode(row["embedding"])
            return (row["id"], zip(values, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / norm)
        }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }

    /// `results` equal the exact ranking's first entries above `threshold`: the same captions (ids),
    /// each with its own exact similarity, in the same order — order and membership may differ only
    /// between similarities closer than 1e-5 (Float32 vs Float64 sums), at a tie or at the cut-off.
    static func expectExact(_ results: [CaptionMatch], _ exact: [(id: Int64, similarity: Double)], threshold: Float, limit: Int) {
        let expected = Array(exact.filter { $0.similarity >= Double(threshold) }.prefix(limit))
        let exactByID = Dictionary(uniqueKeysWithValues: exact.map { ($0.id, $0.similarity) })
        #expect(results.count == expected.count)
        #expect(Set(results.map(\.id)).count == results.count, "a caption is returned twice")
        for (r, e) in zip(results, expected) {
            #expect(abs(r.similarity - e.similarity) < 1e-5)
            // The id is right, not only the value: the caption returned has the similarity reported.
            guard let own = exactByID[r.id] else {
                Issue.record("caption \(r.id) is not in the set")
                continue
            }
            #expect(abs(own - r.similarity) < 1e-5, "caption \(r.id): reported \(r.similarity), exact \(own)")
            if r.id != e.id { #expect(abs(own - e.similarity) < 1e-5, "rank differs: \(r.id) vs \(e.id)") }
        }
        // Every caption clearly above the cut-off (the last expected similarity) is returned.
        let returned = Set(results.map(\.id))
        if let cutoff = expected.last?.similarity {
            for e in expected where e.similarity > cutoff + 1e-5 {
                #expect(returned.contains(e.id), "caption \(e.id) (similarity \(e.similarity)) is missing")
            }
        }
        #expect(zip(results, results.dropFirst()).allSatisfy { $0.similarity >= $1.similarity })
    }

    @Test func resultsEqualExactSearch() throws {
        let (t, queries) = try Self.clusteredStore()
        for q in queries {
            let exact = try Self.exact(t, q)
            for (threshold, limit) in [(Float(-1), 200), (-1, 1), (0.5, 50), (0.85, 200), (-1, Self.n)] {
                let results = try t.store.searchCaptions(vector: q, set: "s", threshold: threshold, limit: limit)
                Self.expectExact(results, exact, threshold: threshold, limit: limit)
            }
        }
    }

    /// Widths that are not a multiple of the kernels' 8 lanes, nor a power of two.
    @Test(arguments: [5, 37, 100])
    func oddWidths(d: Int) throws {
        let (t, queries) = try Self.clusteredStore(d: d, n: 400)
        let index = try Self.index(t, d: d)
        for q in queries.prefix(3) {
            Self.expectExact(try t.store.searchCaptions(vector: q, set: "s", threshold: -1, limit: 50), try Self.exact(t, q), threshold: -1, limit: 50)
            let unit = try CaptionEmbedding.normalized(q)
            let bounds = index.bounds(query: unit)
            let exact = index.exactSimilarities(query: unit, rows: Array(0..<400), threads: 1)
            #expect((0..<400).allSatisfy { abs(bounds[$0].estimate - exact[$0]) <= bounds[$0].error && bounds[$0].hammingUpper >= exact[$0] })
        }
    }

    @Test func estimatesStayWithinTheirBound() throws {
        let (t, queries) = try Self.clusteredStore()
        let index = try Self.index(t, d: Self.d)
        #expect(index.count == Self.n)
        for q in queries {
            let unit = try CaptionEmbedding.normalized(q)
            let bounds = index.bounds(query: unit)
            let exact = index.exactSimilarities(query: unit, rows: Array(0..<Self.n), threads: 1)
            var misses = 0, filterMisses = 0
            for row in 0..<Self.n {
                if abs(bounds[row].estimate - exact[row]) > bounds[row].error { misses += 1 }
                if bounds[row].hammingUpper < exact[row] { filterMisses += 1 }
            }
            #expect(misses == 0)
            #expect(filterMisses == 0)
            // The bound is useful: well below the similarity range.
            #expect(bounds.map(\.error).reduce(0, +) / Float(Self.n) < 0.5)
        }
    }

    static func index(_ t: TestStore, d: Int) throws -> CaptionScanIndex {
        let info = try #require(try t.store.database.read { db in try Row.fetchOne(db, sql: "SELECT id, revision FROM caption_set WHERE name = 's'") })
        return try t.store.captionScanIndex(setID: info["id"], revision: info["revision"], dimension: d)
    }

    /// At CLIP's width the sign filter is tight: it rules out most captions of other clusters.
    @Test func signFilterAtWidth768() throws {
        let (t, queries) = try Self.clusteredStore(d: 768, n: 600)
        let index = try Self.index(t, d: 768)
        for q in queries.prefix(3) {
            let unit = try CaptionEmbedding.normalized(q)
            let bounds = index.bounds(query: unit)
            let exact = index.exactSimilarities(query: unit, rows: Array(0..<600), threads: 1)
            for row in 0..<600 where bounds[row].hammingUpper < exact[row] || abs(bounds[row].estimate - exact[row]) > bounds[row].error {
                Issue.record("row \(row): exact \(exact[row]) estimate \(bounds[row].estimate) ± \(bounds[row].error), sign-filter upper \(bounds[row].hammingUpper)")
            }
            let best = exact.max() ?? 0
            let ruledOut = (0..<600).filter { bounds[$0].hammingUpper < best - 0.2 }.count
            #expect(ruledOut > 500)  // 580 of the 600 are in other clusters
        }
    }

    /// The scan's fp16 widening (scalar and 4 lanes) equals `HalfPrecision` for every finite fp16.
    @Test func widenIsExactForFiniteValues() {
        var mismatches = 0
        for bits in 0...UInt16.max where bits & 0x7C00 != 0x7C00 {
            let expected = HalfPrecision.float(fromFloat16Bits: bits).bitPattern
            if CaptionScanIndex.widen(bits.littleEndian).bitPattern != expected { mismatches += 1 }
            let lanes = CaptionScanIndex.widen(SIMD4(repeating: bits.littleEndian))
            if lanes[0].bitPattern != expected || lanes[3].bitPattern != expected { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// The structured rotation is orthogonal (at a power of two, between powers of two and odd), and
    /// `apply` is the dense `P` the file stores (queries are rotated by the dense matrix).
    @Test(arguments: [48, 37, 64, 768])
    func rotationIsOrthogonal(d: Int) throws {
        let rotation = CaptionRotation(dimension: d, seed: 3)
        let p = rotation.dense()
        let dense = Matrix<Float>(rows: d, cols: d, storage: p)
        let identity = Matrix.matmul(dense, dense, transposeB: true)  // P Pᵀ
        var worst: Float = 0
        for i in 0..<d { for k in 0..<d { worst = max(worst, abs(identity.storage[i * d + k] - (i == k ? 1 : 0))) } }
        #expect(worst < 1e-5)
        var random = SplitMix64(seed: 11)
        let x = (0..<d).map { _ in Float(random.nextGaussian()) }
        var y = x
        let scratch = rotation.makeScratch()
        defer { scratch.deallocate() }
        y.withUnsafeMutableBufferPointer { rotation.apply($0.baseAddress!, scratch: scratch) }
        let product = Matrix.matmul(dense, Matrix(rows: d, cols: 1, storage: x))
        #expect(zip(product.storage, y).allSatisfy { abs($0 - $1) < 1e-4 })
        // It mixes: a basis vector spreads over every coordinate (no coordinate keeps > half its weight).
        let column = (0..<d).map { p[$0 * d] }
        #expect(column.map { $0 * $0 }.max() ?? 1 < 0.5)
        #expect(column.filter { $0 != 0 }.count > d / 2)
    }

    /// The index file of set `s` (written by the import), with the in-process cache cleared.
    static func indexFile(_ t: TestStore, _ q: [Float]) throws -> String {
        _ = try t.store.searchCaptions(vector: q, set: "s", threshold: -1, limit: 10)
        let directory = t.root.appendingPathComponent("cache/captions")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasSuffix(".cidx") })
        let path = directory.appendingPathComponent(name).path
        CaptionScanIndexCache.shared.remove(path)
        return path
    }

    /// Replaces `path` by `data` (a new file, as a damaged cache would appear to a new process).
    static func replace(_ path: String, with data: Data) throws {
        try data.write(to: URL(fileURLWithPath: path + ".new"))
        #expect(rename(path + ".new", path) == 0)
    }

    @Test func damagedSideFilesAreRebuilt() throws {
        let (t, queries) = try Self.clusteredStore()
        let exact = try Self.exact(t, queries[0])
        let path = try Self.indexFile(t, queries[0])
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        var flipped = good
        flipped[60] ^= 0x40  // in the checksum-covered header
        var rotationFlip = good
        rotationFlip[CaptionScanIndex.headerSize + 5] ^= 0x01
        for damaged in [good.prefix(good.count - 100), good.prefix(50), flipped, rotationFlip, Data(), Data(repeating: 7, count: 4096)] {
            try Self.replace(path, with: damaged)
            #expect(throws: CaptionError.self) { _ = try CaptionScanIndex(path: path, setID: 1, revision: 1) }
            let results = try t.store.searchCaptions(vector: queries[0], set: "s", threshold: -1, limit: 200)
            Self.expectExact(results, exact, threshold: -1, limit: 200)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good)  // rebuilt, identical
            CaptionScanIndexCache.shared.remove(path)
        }
    }

    @Test func buildsRemoveStaleFiles() throws {
        let (t, queries) = try Self.clusteredStore(d: 8, n: 50)
        let directory = t.root.appendingPathComponent("cache/captions")
        // The import wrote set-1-r1.cidx: remove it, so that the search below builds it.
        CaptionScanIndexCache.shared.remove(directory.appendingPathComponent("set-1-r1.cidx").path)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("set-1-r1.cidx"))
        let old = directory.appendingPathComponent("set-1-r1.cidx.tmp-1-2"), fresh = directory.appendingPathComponent("set-1-r1.cidx.tmp-3-4")
        let otherRevision = directory.appendingPathComponent("set-1-r0.cidx"), otherSet = directory.appendingPathComponent("set-2-r0.cidx")
        for url in [old, fresh, otherRevision, otherSet] { try Data([1, 2, 3]).write(to: url) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: old.path)
        _ = try t.store.searchCaptions(vector: queries[0], set: "s", threshold: -1, limit: 5)  // builds set-1-r1.cidx
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
        #expect(names == ["set-1-r1.cidx", "set-1-r1.cidx.tmp-3-4", "set-2-r0.cidx"])
    }

    @Test func sideFileThatDisagreesWithTheCatalogIsRebuilt() throws {
        let (t, queries) = try Self.clusteredStore()
        let exact = try Self.exact(t, queries[1])
        let path = try Self.indexFile(t, queries[1])
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        // Zero a few components of the best caption's embedding: still a top result, now wrong.
        let layout = CaptionScanIndex.Layout(count: Self.n, dimension: Self.d)
        var bad = good
        let best = layout.rows + 2 * Self.d * Int(exact[0].id - 1)
        for j in 0..<8 { bad[best + j] = 0 }
        try Self.replace(path, with: bad)
        let results = try t.store.searchCaptions(vector: queries[1], set: "s", threshold: -1, limit: 200)
        Self.expectExact(results, exact, threshold: -1, limit: 200)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good)
    }

    // MARK: Written by the import

    @Test func importWritesTheIndexAsTheCatalogWouldBuildIt() throws {
        let (t, queries) = try Self.clusteredStore()
        let directory = t.root.appendingPathComponent("cache/captions")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["set-1-r1.cidx"])
        let path = directory.appendingPathComponent("set-1-r1.cidx").path
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        let opened = try #require(try CaptionScanIndex(path: path, setID: 1, revision: 1))
        #expect(opened.count == Self.n && opened.dimension == Self.d)
        // The first search uses that file as it is: same inode, nothing rebuilt.
        let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        CaptionScanIndexCache.shared.remove(path)
        Self.expectExact(try t.store.searchCaptions(vector: queries[0], set: "s", threshold: -1, limit: 200),
                         try Self.exact(t, queries[0]), threshold: -1, limit: 200)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == inode)
        // A build from the catalog gives the very same bytes.
        CaptionScanIndexCache.shared.remove(path)
        try FileManager.default.removeItem(atPath: path)
        _ = try t.store.searchCaptions(vector: queries[0], set: "s", threshold: -1, limit: 10)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == written)
    }

    @Test func importIntoAnExistingSetExtendsTheIndex() throws {
        let (t, queries) = try Self.clusteredStore()
        let more = (0..<500).map { i in (0..<Self.d).map { j in Float(((i * 31 + j * 17) % 23) - 11) / 11 + (j == i % Self.d ? 3 : 0) } }
        let directory = t.root.appendingPathComponent("input")
        var captions = (0..<500).map { "more \($0)" }
        captions[7] = "caption 7"  // already in the set: skipped, so not in the index twice
        try captions.joined(separator: "\n").write(to: directory.appendingPathComponent("more.txt"), atomically: true, encoding: .utf8)
        try Self.numpy(more).write(to: directory.appendingPathComponent("more.npy"))
        let result = try t.store.importCaptions(file: directory.appendingPathComponent("more.txt").path, set: "s",
                                                source: .numpy(path: directory.appendingPathComponent("more.npy").path))
        #expect(result.imported == 499 && result.skippedDuplicates == 1)
        let cache = t.root.appendingPathComponent("cache/captions")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path) == ["set-1-r2.cidx"])
        let path = cache.appendingPathComponent("set-1-r2.cidx").path
        let index = try #require(try CaptionScanIndex(path: path, setID: 1, revision: 2))
        #expect(index.count == Self.n + 499)
        let ids = try t.store.database.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM caption ORDER BY id") }
        #expect((0..<index.count).map { index.id(at: $0) } == ids)
        for q in queries.prefix(3) + [more[3]] {
            Self.expectExact(try t.store.searchCaptions(vector: q, set: "s", threshold: -1, limit: 100), try Self.exact(t, q), threshold: -1, limit: 100)
        }
    }
}
