import Foundation

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
    /// than `maxCaptionCandidates(limit)` captions would be re-ranked (they are, by decreasing upper
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
        guard limit > 0 else { throw CaptionError.invalidArgument("--limit must be positive") }
        guard threshold.isFinite, threshold <= 1.0001 else { throw CaptionError.invalidArgument("--threshold must be a number ≤ 1") }
        let info = try catalog.read { connection in
            try connection.fetchOne(CaptionSetRecord.self, "SELECT * FROM caption_set WHERE name = ?", [set])
        }
        guard let info, let setID = info.id else { throw CaptionError.unknownSet(set) }
        let dimension = info.dimension, revision = info.revision ?? 0
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

    /// Captions re-ranked from the index's candidates; nil when a result's embedding in the side
    /// file differs from the catalog's.
    private func search(_ index: CaptionScanIndex, query: [Float], threshold: Float, limit: Int) throws -> [CaptionMatch]? {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        // Re-ranking by decreasing upper bound, in chunks, until the next upper bound is below the
        // limit-th exact similarity found so far (or the threshold): no later candidate can enter.
        var candidates = index.candidates(query: query, threshold: threshold, limit: limit, threads: threads)
        candidates.sort { $0.upper > $1.upper }
        var scored: [(similarity: Float, id: Int64, row: Int)] = []
        var best = FloatTopHeap(capacity: limit)
        var position = 0, bar = threshold
        let budget = min(candidates.count, Self.maxCaptionCandidates(limit: limit))
        while position < budget, candidates[position].upper >= bar {
            let end = min(budget, position + max(1024, limit))
            let rows = candidates[position..<end].map(\.row)
            let similarities = index.exactSimilarities(query: query, rows: rows, threads: threads)
            for (k, row) in rows.enumerated() where similarities[k] >= threshold {
                scored.append((similarities[k], index.id(at: row), row))
                best.insert(similarities[k])
            }
            if best.isFull { bar = max(threshold, best.minimum) }
            position = end
        }
        scored.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.id < $1.id }
        return try catalog.read { connection -> [CaptionMatch]? in
            var matches: [CaptionMatch] = []
            for hit in scored.prefix(limit) {
                guard let row = try connection.fetchOne(StoredCaptionRecord.self, "SELECT * FROM caption WHERE id = ?", [hit.id]),
                      let stored = row.embedding else { return nil }
                let same = stored.count == 2 * index.dimension && stored.withUnsafeBytes { raw in
                    memcmp(raw.baseAddress!, index.embeddingBits(at: hit.row), 2 * index.dimension) == 0
                }
                guard same else { return nil }
                matches.append(CaptionMatch(id: hit.id, caption: row.caption, similarity: Double(hit.similarity), url: row.url, path: row.path))
            }
            return matches
        }
    }

    /// The most captions re-ranked exactly per search.
    static func maxCaptionCandidates(limit: Int) -> Int { max(50_000, 50 * limit) }

    /// Encodes `text` with `encoder` (default: the set's encoder, else the only registered encoder
    /// of the set's width) and searches `set` (default `default`), timing both steps.
    public func searchCaptions(text: String, set: String? = nil, encoder: String? = nil,
                               threshold: Float = Store.defaultCaptionThreshold, limit: Int = Store.defaultCaptionLimit) throws -> CaptionSearchResult {
        let setName = set ?? "default"
        let row = try catalog.read { connection in try connection.fetchOne(CaptionSetRecord.self, "SELECT * FROM caption_set WHERE name = ?", [setName]) }
        guard let row else { throw CaptionError.unknownSet(setName) }
        let name = try encoder ?? row.encoder ?? defaultCaptionEncoderName(forDimension: row.dimension)
        let loaded = try loadCaptionEncoder(named: name)
        let start = DispatchTime.now().uptimeNanoseconds
        guard let vector = try loaded.embed([text]).first else { throw CaptionError.noEncoder("encoder '\(name)' returned nothing") }
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
        let index = try CaptionScanIndex.build(path: path, setID: setID, revision: revision, dimension: dimension, catalog: catalog)
        adoptCaptionIndex(index)
        return index
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
