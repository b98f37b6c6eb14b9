import Foundation
import GRDB

extension Store {
    /// Default search parameters (CLI.md "Captions and regularization sets").
    public static let defaultCaptionThreshold: Float = 0.85
    public static let defaultCaptionLimit = 200

    /// Captions of `set` whose cosine similarity to `vector` is ≥ `threshold`, best first (ties by
    /// id), at most `limit`.
    ///
    /// A quantised int8 scan of the set's side index (`CaptionScanIndex`, rebuilt when the set
    /// changed) keeps the `max(4 × limit, limit + 1000)` best candidates by estimate — never one
    /// whose exact similarity passes the threshold for lack of margin — and re-ranks them exactly
    /// (Float32 dot products with the catalog's fp16 embeddings). Results equal an exact scan
    /// unless more than that many captions score within the int8 error of the limit-th one.
    public func searchCaptions(vector: [Float], set: String, threshold: Float = Store.defaultCaptionThreshold,
                               limit: Int = Store.defaultCaptionLimit) throws -> [CaptionMatch] {
        guard limit > 0 else { throw CaptionError.invalidArgument("--limit must be positive") }
        guard threshold.isFinite, threshold <= 1.0001 else { throw CaptionError.invalidArgument("--threshold must be a number ≤ 1") }
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
        let capacity = max(4 * limit, limit + 1000)
        let rows = index.candidates(query: query, threshold: threshold, capacity: capacity,
                                    threads: ProcessInfo.processInfo.activeProcessorCount)
        return try rerank(rows.map { index.id(at: $0) }, query: query, threshold: threshold, limit: limit)
    }

    /// Exact similarities of candidate captions, filtered, best first.
    private func rerank(_ ids: [Int64], query: [Float], threshold: Float, limit: Int) throws -> [CaptionMatch] {
        try database.read { db in
            let statement = try db.makeStatement(sql: "SELECT embedding FROM caption WHERE id = ?")
            var scored: [(Double, Int64)] = []
            for id in ids.sorted() {
                guard let data = try Data.fetchOne(statement, arguments: [id]), data.count == 2 * query.count else { continue }
                var dot: Float = 0
                data.withUnsafeBytes { raw in
                    for j in 0..<query.count {
                        dot += query[j] * HalfPrecision.float(fromFloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)))
                    }
                }
                if dot >= threshold { scored.append((Double(dot), id)) }
            }
            scored.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
            let details = try db.makeStatement(sql: "SELECT caption, url, path FROM caption WHERE id = ?")
            return try scored.prefix(limit).compactMap { similarity, id in
                try Row.fetchOne(details, arguments: [id]).map {
                    CaptionMatch(id: id, caption: $0["caption"], similarity: similarity, url: $0["url"], path: $0["path"])
                }
            }
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
        guard let vector = try loaded.embed([text]).first else { throw CaptionError.noEncoder("encoder '\(name)' returned nothing") }
        let encoded = DispatchTime.now().uptimeNanoseconds
        let results = try searchCaptions(vector: vector, set: setName, threshold: threshold, limit: limit)
        let done = DispatchTime.now().uptimeNanoseconds
        return CaptionSearchResult(results: results, encodeMS: Double(encoded - start) / 1e6, searchMS: Double(done - encoded) / 1e6)
    }

    // MARK: The scan index

    /// The set's scan index at `revision`: from the in-process cache, the side file, or rebuilt.
    func captionScanIndex(setID: Int64, revision: Int64, dimension: Int) throws -> CaptionScanIndex {
        let directory = root.appendingPathComponent("cache/captions", isDirectory: true)
        let path = directory.appendingPathComponent("set-\(setID)-r\(revision).cidx").path
        if let cached = CaptionScanIndexCache.shared.get(path) { return cached }
        if let index = try? CaptionScanIndex(path: path, setID: setID, revision: revision) {
            CaptionScanIndexCache.shared.put(path, index)
            return index
        }
        try CaptionScanIndex.build(path: path, setID: setID, revision: revision, dimension: dimension, database: database)
        // Older revisions of this set are stale now.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where name.hasPrefix("set-\(setID)-r") && name.hasSuffix(".cidx") && name != "set-\(setID)-r\(revision).cidx" {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        guard let index = try CaptionScanIndex(path: path, setID: setID, revision: revision) else {
            throw CaptionError.scanIndex(path: path, reason: "missing right after it was built")
        }
        CaptionScanIndexCache.shared.put(path, index)
        return index
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
}
