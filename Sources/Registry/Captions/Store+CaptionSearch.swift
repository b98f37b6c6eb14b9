import CaptionIndex
import Foundation
import GRDB

extension Store {
    /// Default search parameters (CLI.md "Captions and regularization sets").
    public static let defaultCaptionThreshold: Float = 0.85
    public static let defaultCaptionLimit = 200

    /// Captions of `set` whose cosine similarity to `vector` is ≥ `threshold`, best first (ties by
    /// id), at most `limit`. Similarities are exact (Float32 sums over the stored fp16 embeddings).
    ///
    /// Two passes over the set's side index (`CaptionScanIndex`, rebuilt when the set changed):
    /// a scan of 1-bit codes (112 bytes per caption at d = 768) bounds every caption's similarity
    /// from above (sign filter: Hamming distance), then by RaBitQ's `est ± ε₀·err`, and keeps those
    /// whose upper bound reaches both the threshold and the `limit`-th best lower bound; those are
    /// re-ranked exactly. A caption that belongs in the results is dropped only if one of its two
    /// bounds fails (probability ≈ 6·10⁻⁵ for the sign filter's Hoeffding bound and ≈ 6·10⁻⁷ for
    /// the RaBitQ bound, per caption over the random rotation; see `CaptionScanIndex`), or if more
    /// than `CaptionScanIndex.maxCandidates(limit:)` captions would be re-ranked (they are, by decreasing upper
    /// bound, until the next one is below the `limit`-th exact similarity found: often far fewer).
    /// The same holds for the threshold: a caption at or above it is missed only if a bound fails.
    /// The last results' embeddings are checked against the catalog; a side file that disagrees is
    /// rebuilt and the search repeated.
    ///
    /// The bounds depend on the rotation, not on the data, so recall does not either; the data sets
    /// how many captions are re-ranked. At d = 768 the sign filter allows ±0.25 rad around the angle
    /// its Hamming distance implies and RaBitQ ±5·0.75/√767 ≈ ±0.14, both in the centred space
    /// (scaled by ‖q − c‖‖x − c‖), so every caption within about twice that of the limit-th best is
    /// re-ranked. On the bench's clustered data that is the query's cluster (≈ 500 captions of 1M).
    /// Real CLIP text embeddings are anisotropic (a strong common direction: captions' mutual
    /// cosines are mostly positive); centring on their mean takes it out, leaving ‖x − c‖ ≈ 0.6–0.8,
    /// so the RaBitQ band is ≈ ±0.05–0.09 in cosine and captions within ≈ 0.1–0.18 of the 200th best
    /// are candidates: typically thousands of 1M (≈ 0.65 µs each per core to re-rank, measured:
    /// 50,000, the cap, take ≈ 16 ms on two cores), fewer re-ranked since re-ranking stops early.
    /// The bench's CLIP-like anisotropic set (`CAPTIONS_BENCH_DATA=aniso`) takes 40 ms per top-200
    /// search over 1M with recall@200 = 1, its clustered set 20 ms.
    public func searchCaptions(vector: [Float], set: String, threshold: Float = Store.defaultCaptionThreshold,
                               limit: Int = Store.defaultCaptionLimit) throws -> [CaptionMatch] {
        guard limit > 0 else { throw CaptionError.invalidArgument("the result limit must be positive, is \(limit)") }
        guard threshold.isFinite, threshold <= 1.0001 else { throw CaptionError.invalidArgument("the similarity threshold must be a number ≤ 1, is \(threshold)") }
        let info = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, dimension, revision FROM caption_set WHERE name = ?", arguments: [set])
        }
        guard let info else { throw CaptionError.unknownSet(set) }
        let setID: Int64 = info["id"], dimension: Int = info["dimension"], revision: Int64 = info["revision"]
        guard vector.count == dimension else {
            throw CaptionError.embeddingDimensionMismatch(path: "query", dimension: vector.count, expected: dimension, reason: "caption set '\(set)'")
        }
        let query: [Float]
        do { query = try CaptionEmbedding.normalized(vector) } catch {
            throw CaptionError.invalidArgument("the query vector has non-finite values or zero norm")
        }
        let index = try captionScanIndex(setID: setID, revision: revision, dimension: dimension)
        if let results = try search(index, query: query, threshold: threshold, limit: limit) { return results }
        // The side file disagrees with the catalog: rebuild it once.
        let rebuilt = try captionScanIndex(setID: setID, revision: revision, dimension: dimension, discarding: index)
        guard let results = try search(rebuilt, query: query, threshold: threshold, limit: limit) else {
            throw CaptionError.scanIndex(path: rebuilt.path, reason: "disagrees with the catalog right after it was rebuilt")
        }
        return results
    }

    /// Captions re-ranked from the index's candidates (`CaptionScanIndex.search`); nil when a
    /// result's embedding in the side file differs from the catalog's.
    private func search(_ index: CaptionScanIndex, query: [Float], threshold: Float, limit: Int) throws -> [CaptionMatch]? {
        let scored = index.search(query: query, threshold: threshold, limit: limit, threads: ProcessInfo.processInfo.activeProcessorCount)
        return try database.read { db -> [CaptionMatch]? in
            let details = try db.makeStatement(sql: "SELECT caption, url, path, embedding FROM caption WHERE id = ?")
            var matches: [CaptionMatch] = []
            for hit in scored {
                guard let row = try Row.fetchOne(details, arguments: [hit.id]) else { return nil }
                let stored: Data = row["embedding"]
                let same = stored.count == 2 * index.dimension && stored.withUnsafeBytes { raw in
                    memcmp(raw.baseAddress!, index.embeddingBits(at: hit.row), 2 * index.dimension) == 0
                }
                guard same else { return nil }
                matches.append(CaptionMatch(id: hit.id, caption: row["caption"], similarity: Double(hit.similarity), url: row["url"], path: row["path"]))
            }
            return matches
        }
    }

    /// Encodes `text` with `encoder` (default: the set's encoder, else the only registered encoder
    /// of the set's width) and searches `set` (default `default`), timing both steps.
    public func searchCaptions(text: String, set: String? = nil, encoder: String? = nil,
                               threshold: Float = Store.defaultCaptionThreshold, limit: Int = Store.defaultCaptionLimit) throws -> CaptionSearchResult {
        let setName = set ?? "default"
        let row = try database.read { db in try Row.fetchOne(db, sql: "SELECT dimension, encoder FROM caption_set WHERE name = ?", arguments: [setName]) }
        guard let row else { throw CaptionError.unknownSet(setName) }
        let name = try encoder ?? (row["encoder"] as String?) ?? defaultCaptionEncoderName(forDimension: row["dimension"])
        let loaded = try loadCaptionEncoder(named: name)
        let start = DispatchTime.now().uptimeNanoseconds
        guard let vector = try loaded.embed([text]).first else { throw CaptionError.encoderUnusable(name: "encoder '\(name)'", reason: "returned nothing") }
        let encoded = DispatchTime.now().uptimeNanoseconds
        let results = try searchCaptions(vector: vector, set: setName, threshold: threshold, limit: limit)
        let done = DispatchTime.now().uptimeNanoseconds
        return CaptionSearchResult(results: results, encodeMS: Double(encoded - start) / 1e6, searchMS: Double(done - encoded) / 1e6)
    }

    // MARK: The scan index

    /// The set's scan index at `revision`: from the in-process cache, the side file (written by
    /// `captions import`), or rebuilt from the catalog when missing or damaged. `discarding` an index
    /// that disagrees with the catalog deletes its file and builds it again.
    func captionScanIndex(setID: Int64, revision: Int64, dimension: Int, discarding stale: CaptionScanIndex? = nil) throws -> CaptionScanIndex {
        let path = captionIndexPath(setID: setID, revision: revision)
        if let stale {
            CaptionScanIndexCache.shared.remove(stale.path)
            try? FileManager.default.removeItem(atPath: stale.path)
        }
        if let cached = CaptionScanIndexCache.shared.get(path) { return cached }
        if let index = try? CaptionScanIndex(path: path, setID: setID, revision: revision), index.dimension == dimension {
            CaptionScanIndexCache.shared.put(path, index)
            return index
        }
        // One read transaction over the set's rows in id order.
        let index = try CaptionScanIndex.build(path: path, setID: setID, revision: revision, dimension: dimension) { append in
            try database.read { db in
                let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caption WHERE set_id = ?", arguments: [setID]) ?? 0
                var fed = 0
                try Self.catalogCaptionRows(setID: setID, db: db, indexPath: path) { id, row in
                    try append(id, row)
                    fed += 1
                }
                guard fed == n else { throw CaptionError.scanIndex(path: path, reason: "the set changed while it was indexed") }
            }
        }
        adoptCaptionIndex(index)
        return index
    }

    /// Hands the rows of set `setID` in the catalog to `body`, in id order: each caption's id and its
    /// stored fp16 embedding (what `CaptionScanIndex` indexes). `indexPath` names the index in errors.
    static func catalogCaptionRows(setID: Int64, db: Database, indexPath: String, _ body: (Int64, Data) throws -> Void) throws {
        let cursor = try Row.fetchCursor(db, sql: "SELECT id, embedding FROM caption WHERE set_id = ? ORDER BY id", arguments: [setID])
        while let row = try cursor.next() {
            let id: Int64 = row[0]
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { throw CaptionError.scanIndex(path: indexPath, reason: "caption \(id) has no embedding") }
                try body(id, data)
            }
        }
    }

    /// The side file of set `setID` at `revision`.
    func captionIndexPath(setID: Int64, revision: Int64) -> String {
        root.appendingPathComponent("cache/captions/set-\(setID)-r\(revision).cidx").path
    }

    /// Caches a freshly written index and removes what it makes stale: the set's older revisions, and
    /// temporary files of builds that died (more than an hour old: a build of 1M captions takes seconds).
    func adoptCaptionIndex(_ index: CaptionScanIndex) {
        CaptionScanIndexCache.shared.put(index.path, index)
        let directory = URL(fileURLWithPath: index.path).deletingLastPathComponent()
        let current = URL(fileURLWithPath: index.path).lastPathComponent
        let abandoned = Date().addingTimeInterval(-3600)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix("set-\(index.setID)-r") {
            let url = directory.appendingPathComponent(name)
            if name.contains(".cidx.tmp-") {
                let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate]) as? Date
                if let modified, modified < abandoned { try? FileManager.default.removeItem(at: url) }
            } else if name.hasSuffix(".cidx"), name != current {
                CaptionScanIndexCache.shared.remove(url.path)
                try? FileManager.default.removeItem(at: url)
            }
        }
    }
}

/// Open scan indexes of this process, by file path (a file's content never changes: its name
/// carries the set's revision).
final class CaptionScanIndexCache: @unchecked Sendable {
    // `@unchecked Sendable`: every access goes through `lock`.
    static let shared = CaptionScanIndexCache()
    private let lock = NSLock()
    private var indexes: [String: CaptionScanIndex] = [:]

    func get(_ path: String) -> CaptionScanIndex? { lock.withLock { indexes[path] } }
    func put(_ path: String, _ index: CaptionScanIndex) { lock.withLock { indexes[path] = index } }
    func remove(_ path: String) { lock.withLock { indexes[path] = nil } }
}
