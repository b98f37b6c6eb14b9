import Foundation

/// A search over the index: the candidates of the scan (`candidates`), re-ranked exactly.
extension CaptionScanIndex {
    /// One result of `search`: its exact similarity, caption id and row in the file.
    public struct Hit: Sendable {
        public let similarity: Float
        public let id: Int64
        public let row: Int
    }

    /// The most captions re-ranked exactly per search.
    public static func maxCandidates(limit: Int) -> Int { max(50_000, 50 * limit) }

    /// The captions whose exact similarity to the unit `query` is ≥ `threshold`, best first (ties by
    /// id), at most `limit`. Candidates are re-ranked by decreasing upper bound, in chunks, until the
    /// next upper bound is below the `limit`-th exact similarity found so far (or the threshold): no
    /// later candidate can enter; at most `maxCandidates(limit:)` are re-ranked.
    public func search(query: [Float], threshold: Float, limit: Int, threads: Int) -> [Hit] {
        var candidates = self.candidates(query: query, threshold: threshold, limit: limit, threads: threads)
        candidates.sort { $0.upper > $1.upper }
        var scored: [Hit] = []
        var best = FloatTopHeap(capacity: limit)
        var position = 0, bar = threshold
        let budget = min(candidates.count, Self.maxCandidates(limit: limit))
        while position < budget, candidates[position].upper >= bar {
            let end = min(budget, position + max(1024, limit))
            let rows = candidates[position..<end].map(\.row)
            let similarities = exactSimilarities(query: query, rows: rows, threads: threads)
            for (k, row) in rows.enumerated() where similarities[k] >= threshold {
                scored.append(Hit(similarity: similarities[k], id: id(at: row), row: row))
                best.insert(similarities[k])
            }
            if best.isFull { bar = max(threshold, best.minimum) }
            position = end
        }
        scored.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.id < $1.id }
        return Array(scored.prefix(limit))
    }
}
