import Foundation

/// The two passes of a search: a 1-bit RaBitQ scan that keeps every caption whose similarity bound
/// can still reach the top `limit` (and the threshold), then exact re-ranking from the stored fp16
/// embeddings. See `CaptionScanIndex` for the estimator and its bound.
extension CaptionScanIndex {
    /// A caption kept for re-ranking, with the upper bound of its similarity.
    struct Candidate: Sendable {
        var row: Int
        var upper: Float
    }

    /// The per-query quantities of the estimator: `u = P(q − c)` spread into a lookup table of
    /// `Σ_{j<8} ±u_{8k+j}` for every code byte k and value b, `q·c`, and the bound's scale.
    struct QueryTable {
        var lut: [Float]
        var queryDotCentroid: Float
        var scale: Float
        var errorScale: Float
        /// Float rounding of the table sums, far below the bound.
        let slack: Float = 1e-5
    }

    func prepare(query: [Float]) -> QueryTable {
        let d = dimension, codeBytes = layout.codeBytes
        var shifted = [Float](repeating: 0, count: d)
        var queryDotCentroid: Float = 0
        for j in 0..<d {
            shifted[j] = query[j] - centroid[j]
            queryDotCentroid += query[j] * centroid[j]
        }
        var u = [Float](repeating: 0, count: 8 * codeBytes)
        var uNorm2: Float = 0
        for i in 0..<d {
            var s: Float = 0
            let p = rotation + i * d
            for j in 0..<d { s += p[j] * shifted[j] }
            u[i] = s
            uNorm2 += s * s
        }
        var lut = [Float](repeating: 0, count: codeBytes * 256)
        for k in 0..<codeBytes {
            for b in 0..<256 {
                var s: Float = 0
                for j in 0..<8 { s += (b >> j) & 1 == 1 ? u[8 * k + j] : -u[8 * k + j] }
                lut[k * 256 + b] = s
            }
        }
        return QueryTable(lut: lut, queryDotCentroid: queryDotCentroid, scale: 1 / Float(d).squareRoot(),
                          errorScale: Self.confidence * uNorm2.squareRoot() / Float(max(1, d - 1)).squareRoot())
    }

    /// Every row's estimate and error bound (tests; the scan inlines the same arithmetic).
    func bounds(query: [Float]) -> [(estimate: Float, error: Float)] {
        let table = prepare(query: query)
        return (0..<count).map { row in
            var sum: Float = 0
            for k in 0..<layout.codeBytes { sum += table.lut[(k << 8) | Int(codes[row * layout.codeBytes + k])] }
            let f = factors + 3 * row
            return (f[2] + table.queryDotCentroid + f[0] * sum * table.scale, table.errorScale * f[1] + table.slack)
        }
    }

    /// Rows whose similarity upper bound `est + err` reaches both `threshold` and the `limit`-th
    /// largest lower bound `est − err` of the set, at most `maxCandidates` (the highest upper bounds).
    /// Splits the rows over `threads`.
    func candidates(query: [Float], threshold: Float, limit: Int, maxCandidates: Int, threads: Int) -> [Candidate] {
        guard count > 0, query.count == dimension, limit > 0 else { return [] }
        let codeBytes = layout.codeBytes
        let prepared = prepare(query: query)
        let table = prepared.lut, queryDotCentroid = prepared.queryDotCentroid, scale = prepared.scale
        let errorScale = prepared.errorScale, slack = prepared.slack
        let n = count, parts = max(1, min(threads, n / 16_384 + 1))
        nonisolated(unsafe) let results = UnsafeMutablePointer<(lowers: [Float], kept: [Candidate])>.allocate(capacity: parts)
        results.initialize(repeating: ([], []), count: parts)
        defer { results.deinitialize(count: parts); results.deallocate() }
        table.withUnsafeBufferPointer { t in
            nonisolated(unsafe) let lut = t.baseAddress!
            nonisolated(unsafe) let codes = codes, factors = factors
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                var lowers = FloatTopHeap(capacity: limit)
                var kept: [Candidate] = []
                var bar = threshold  // max(threshold, the limit-th lower bound so far)
                var compactAt = 4 * max(limit, 1024)
                let lo = n * part / parts, hi = n * (part + 1) / parts
                var x = codes + lo * codeBytes
                for row in lo..<hi {
                    var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0
                    var k = 0
                    while k < codeBytes {
                        a0 += lut[(k << 8) | Int(x[k])]
                        a1 += lut[((k + 1) << 8) | Int(x[k + 1])]
                        a2 += lut[((k + 2) << 8) | Int(x[k + 2])]
                        a3 += lut[((k + 3) << 8) | Int(x[k + 3])]
                        k += 4
                    }
                    x += codeBytes
                    let f = factors + 3 * row
                    let estimate = f[2] + queryDotCentroid + f[0] * ((a0 + a1) + (a2 + a3)) * scale
                    let error = errorScale * f[1] + slack
                    let upper = estimate + error
                    guard upper >= bar else { continue }
                    kept.append(Candidate(row: row, upper: upper))
                    if lowers.insert(estimate - error), lowers.isFull, lowers.minimum > bar {
                        bar = lowers.minimum
                    }
                    if kept.count >= compactAt {
                        kept.removeAll { $0.upper < bar }
                        compactAt = max(compactAt, 2 * kept.count)
                    }
                }
                results[part] = (lowers.items, kept)
            }
        }
        var lowers = FloatTopHeap(capacity: limit)
        for part in 0..<parts { for value in results[part].lowers { _ = lowers.insert(value) } }
        let bar = lowers.isFull ? max(threshold, lowers.minimum) : threshold
        var kept: [Candidate] = []
        for part in 0..<parts { kept += results[part].kept.lazy.filter { $0.upper >= bar } }
        if kept.count > maxCandidates {
            kept.sort { $0.upper > $1.upper }
            kept.removeLast(kept.count - maxCandidates)
        }
        return kept
    }

    /// Exact cosine similarities (Float32 sums over the fp16 rows) of `rows` with unit `query`.
    func exactSimilarities(query: [Float], rows: [Int], threads: Int) -> [Float] {
        var sims = [Float](repeating: 0, count: rows.count)
        let d = dimension, parts = max(1, min(threads, rows.count / 2048 + 1))
        query.withUnsafeBufferPointer { q in
            sims.withUnsafeMutableBufferPointer { out in
                nonisolated(unsafe) let qp = q.baseAddress!, op = out.baseAddress!
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    for i in (rows.count * part / parts)..<(rows.count * (part + 1) / parts) {
                        let bits = embeddingBits(at: rows[i]).assumingMemoryBound(to: UInt16.self)
                        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                        var j = 0
                        while j + 4 <= d {
                            s0 += qp[j] * Self.widen(bits[j])
                            s1 += qp[j + 1] * Self.widen(bits[j + 1])
                            s2 += qp[j + 2] * Self.widen(bits[j + 2])
                            s3 += qp[j + 3] * Self.widen(bits[j + 3])
                            j += 4
                        }
                        while j < d { s0 += qp[j] * Self.widen(bits[j]); j += 1 }
                        op[i] = (s0 + s1) + (s2 + s3)
                    }
                }
            }
        }
        return sims
    }

    /// fp16 → fp32 for finite values (the catalog holds only finite embeddings): the exponent and
    /// mantissa shifted into place and rebased by 2^112, exact for normals and subnormals alike.
    @inline(__always)
    static func widen(_ bits: UInt16) -> Float {
        let h = UInt16(littleEndian: bits)
        let magnitude = Float(bitPattern: UInt32(h & 0x7FFF) << 13) * 0x1p112
        return Float(bitPattern: magnitude.bitPattern | UInt32(h & 0x8000) << 16)
    }
}

/// The `capacity` highest values seen (a binary min-heap: the root is the lowest kept).
struct FloatTopHeap {
    let capacity: Int
    private(set) var items: [Float] = []

    init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(min(capacity, 1 << 16))
    }

    var isFull: Bool { items.count >= capacity }
    var minimum: Float { items.first ?? -.infinity }

    /// Inserts `value` if it is among the highest; returns whether it was kept.
    @discardableResult
    mutating func insert(_ value: Float) -> Bool {
        if items.count < capacity {
            items.append(value)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard items[i] < items[parent] else { break }
                items.swapAt(i, parent)
                i = parent
            }
            return true
        }
        guard value > items[0] else { return false }
        items[0] = value
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count, items[l] < items[smallest] { smallest = l }
            if r < items.count, items[r] < items[smallest] { smallest = r }
            if smallest == i { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return true
    }
}
