import Foundation

/// The two passes of a search: a 1-bit RaBitQ scan that keeps every caption whose similarity bound
/// can still reach the top `limit` (and the threshold), then exact re-ranking from the stored fp16
/// embeddings. See `CaptionScanIndex` for the estimator and its bound.
extension CaptionScanIndex {
    /// A caption kept for re-ranking, with the upper bound of its similarity.
    public struct Candidate: Sendable {
        public var row: Int
        public var upper: Float
    }

    /// The per-query quantities of the estimator: `u = P(q − c)` spread into a lookup table of
    /// `Σ_{j<8} ±u_{8k+j}` for every code byte k and value b, `q·c`, and the bound's scale.
    struct QueryTable {
        var lut: [Float]
        var queryDotCentroid: Float
        var scale: Float
        var errorScale: Float
        /// The query's sign code (as the captions' codes) and its norm ‖u‖ = ‖q − c‖.
        var signs: [UInt64]
        var norm: Float
        /// `cosUpper[h]` = cos(max(0, π(h/d − t))) and `cosLower[h]` = cos(min(π, π(h/d + t))): the
        /// cosines a Hamming distance h allows.
        var cosUpper: [Float]
        var cosLower: [Float]
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
        var signs = [UInt64](repeating: 0, count: codeBytes / 8)
        for i in 0..<d where u[i] >= 0 { signs[i >> 6] |= 1 << UInt64(i & 63) }
        let t = Self.hammingSlack(dimension: d)
        let cosUpper = (0...d).map { h in Float(Foundation.cos(max(0, Double.pi * (Double(h) / Double(d) - t)))) }
        let cosLower = (0...d).map { h in Float(Foundation.cos(min(Double.pi, Double.pi * (Double(h) / Double(d) + t)))) }
        return QueryTable(lut: lut, queryDotCentroid: queryDotCentroid, scale: 1 / Float(d).squareRoot(),
                          errorScale: Self.confidence * uNorm2.squareRoot() / Float(max(1, d - 1)).squareRoot(),
                          signs: signs, norm: uNorm2.squareRoot(), cosUpper: cosUpper, cosLower: cosLower)
    }

    /// Hoeffding's `t` for the sign filter: P(h/d − θ/π ≤ −t) ≤ exp(−2dt²) = 2Φ(−ε₀) ≈ 6·10⁻⁵.
    static func hammingSlack(dimension d: Int) -> Double { (9.7 / (2 * Double(max(1, d)))).squareRoot() }

    /// Every row's estimate, error bound and sign-filter upper bound (tests; the scan inlines the same arithmetic).
    func bounds(query: [Float]) -> [(estimate: Float, error: Float, hammingUpper: Float)] {
        let table = prepare(query: query)
        return (0..<count).map { row in
            var sum: Float = 0
            for k in 0..<layout.codeBytes { sum += table.lut[(k << 8) | Int(codes[row * layout.codeBytes + k])] }
            var h = 0
            for w in 0..<(layout.codeBytes / 8) {
                let v = UnsafeRawPointer(codes + row * layout.codeBytes).loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self)
                h += (UInt64(littleEndian: v) ^ table.signs[w]).nonzeroBitCount
            }
            let f = factors + 4 * row
            return (f[2] + table.queryDotCentroid + f[0] * sum * table.scale, table.errorScale * f[1] + table.slack,
                    f[2] + table.queryDotCentroid + f[3] * table.norm * table.cosUpper[h] + table.slack)
        }
    }

    /// Rows whose similarity upper bounds reach both `threshold` and the `limit`-th largest lower
    /// bound of the set (unordered). Two passes, each split over `threads`: the sign filter's bounds
    /// for every row (its lower bounds set the bar, and so do the exact similarities of the rows with
    /// the best of them), then the RaBitQ bounds of the rows whose sign-filter upper bound reaches
    /// the bar (raising it).
    public func candidates(query: [Float], threshold: Float, limit: Int, threads: Int) -> [Candidate] {
        guard count > 0, query.count == dimension, limit > 0 else { return [] }
        let codeBytes = layout.codeBytes, words = codeBytes / 8
        let prepared = prepare(query: query)
        let base = prepared.queryDotCentroid, scale = prepared.scale
        let errorScale = prepared.errorScale, slack = prepared.slack, queryNorm = prepared.norm
        let n = count, parts = max(1, min(threads, n / 16_384 + 1))
        var uppers = [Float](repeating: 0, count: n)
        nonisolated(unsafe) let lowers = UnsafeMutablePointer<[Float]>.allocate(capacity: parts)
        lowers.initialize(repeating: [], count: parts)
        nonisolated(unsafe) let kept = UnsafeMutablePointer<[Candidate]>.allocate(capacity: parts)
        kept.initialize(repeating: [], count: parts)
        nonisolated(unsafe) let seeds = UnsafeMutablePointer<[Int]>.allocate(capacity: parts)
        seeds.initialize(repeating: [], count: parts)
        defer {
            lowers.deinitialize(count: parts); lowers.deallocate()
            kept.deinitialize(count: parts); kept.deallocate()
            seeds.deinitialize(count: parts); seeds.deallocate()
        }
        func bar(_ floor: Float) -> Float {
            var heap = FloatTopHeap(capacity: limit)
            for part in 0..<parts { for value in lowers[part] { heap.insert(value) } }
            return heap.isFull ? max(floor, heap.minimum) : floor
        }
        nonisolated(unsafe) let codes = codes, factors = factors
        // Pass 1: Hamming distance to the query's sign code (SWAR popcount) → bounds of every row.
        uppers.withUnsafeMutableBufferPointer { upperBuffer in
            prepared.signs.withUnsafeBufferPointer { signBuffer in
                prepared.cosUpper.withUnsafeBufferPointer { upperCos in
                    prepared.cosLower.withUnsafeBufferPointer { lowerCos in
                        nonisolated(unsafe) let out = upperBuffer.baseAddress!, signs = signBuffer.baseAddress!
                        nonisolated(unsafe) let cosUpper = upperCos.baseAddress!, cosLower = lowerCos.baseAddress!
                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                            var heap = FloatTopHeap(capacity: limit)
                            for row in (n * part / parts)..<(n * (part + 1) / parts) {
                                // Rows are 8-byte aligned: the section is 64-byte aligned, codeBytes a multiple of 8.
                                let x = UnsafeRawPointer(codes + row &* codeBytes).assumingMemoryBound(to: UInt64.self)
                                var h = 0, w = 0
                                while w < words {  // ≤ 16 words per byte-count sum (each byte ≤ 128)
                                    let end = min(w &+ 16, words)
                                    var counts: UInt64 = 0
                                    while w &+ 4 <= end {
                                        counts &+= Self.byteCounts(UInt64(littleEndian: x[w]) ^ signs[w])
                                            &+ Self.byteCounts(UInt64(littleEndian: x[w &+ 1]) ^ signs[w &+ 1])
                                            &+ Self.byteCounts(UInt64(littleEndian: x[w &+ 2]) ^ signs[w &+ 2])
                                            &+ Self.byteCounts(UInt64(littleEndian: x[w &+ 3]) ^ signs[w &+ 3])
                                        w &+= 4
                                    }
                                    while w < end { counts &+= Self.byteCounts(UInt64(littleEndian: x[w]) ^ signs[w]); w &+= 1 }
                                    h &+= Self.sumBytes(counts)
                                }
                                let f = factors + 4 * row
                                let offset = f[2] + base, radius = f[3] * queryNorm
                                out[row] = offset + radius * cosUpper[h] + slack
                                let lower = offset + radius * cosLower[h] - slack
                                if lower > heap.minimum || !heap.isFull { heap.insert(lower, row: row) }
                            }
                            lowers[part] = heap.items
                            seeds[part] = heap.rows
                        }
                    }
                }
            }
        }
        // The rows with the best sign-filter lower bounds, scored exactly: the limit-th best of those
        // exact similarities is a bar too, usually far tighter (no later row below it can enter).
        let seedRows = (0..<parts).flatMap { seeds[$0] }
        var seedHeap = FloatTopHeap(capacity: limit)
        for similarity in exactSimilarities(query: query, rows: seedRows, threads: threads) { seedHeap.insert(similarity) }
        let firstBar = max(bar(threshold), seedHeap.isFull ? seedHeap.minimum : -.infinity)
        // Pass 2: RaBitQ bounds of the rows that pass the sign filter.
        uppers.withUnsafeBufferPointer { upperBuffer in
            prepared.lut.withUnsafeBufferPointer { lutBuffer in
                nonisolated(unsafe) let signUppers = upperBuffer.baseAddress!, lut = lutBuffer.baseAddress!
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    // A row's lower bound counts once per bar: pass 2's heap starts empty (rows it skips
                    // have bounds below the first bar, which stays the floor).
                    var heap = FloatTopHeap(capacity: limit)
                    var rows: [Candidate] = []
                    for row in (n * part / parts)..<(n * (part + 1) / parts) where signUppers[row] >= firstBar {
                        let x = UnsafeRawPointer(codes + row * codeBytes)
                        // 8 code bytes per load, 8 independent sums over the table (256 floats per byte position).
                        var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0, a4: Float = 0, a5: Float = 0, a6: Float = 0, a7: Float = 0
                        var t = lut
                        for w in 0..<words {
                            let v = UInt64(littleEndian: x.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self))
                            a0 += t[Int(v & 0xFF)]
                            a1 += t[256 + Int((v >> 8) & 0xFF)]
                            a2 += t[512 + Int((v >> 16) & 0xFF)]
                            a3 += t[768 + Int((v >> 24) & 0xFF)]
                            a4 += t[1024 + Int((v >> 32) & 0xFF)]
                            a5 += t[1280 + Int((v >> 40) & 0xFF)]
                            a6 += t[1536 + Int((v >> 48) & 0xFF)]
                            a7 += t[1792 + Int(v >> 56)]
                            t += 2048
                        }
                        let f = factors + 4 * row
                        let estimate = f[2] + base + f[0] * (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) * scale
                        let error = errorScale * f[1] + slack
                        let upper = min(signUppers[row], estimate + error)
                        guard upper >= firstBar else { continue }
                        rows.append(Candidate(row: row, upper: upper))
                        heap.insert(estimate - error)
                    }
                    lowers[part] = heap.items
                    kept[part] = rows
                }
            }
        }
        let finalBar = bar(firstBar)
        var result: [Candidate] = []
        for part in 0..<parts { result += kept[part].lazy.filter { $0.upper >= finalBar } }
        return result
    }

    /// Exact cosine similarities (Float32 sums over the fp16 rows) of `rows` with unit `query`.
    public func exactSimilarities(query: [Float], rows: [Int], threads: Int) -> [Float] {
        var sims = [Float](repeating: 0, count: rows.count)
        let d = dimension, parts = max(1, min(threads, rows.count / 2048 + 1))
        query.withUnsafeBufferPointer { q in
            sims.withUnsafeMutableBufferPointer { out in
                nonisolated(unsafe) let qp = q.baseAddress!, op = out.baseAddress!
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    for i in (rows.count * part / parts)..<(rows.count * (part + 1) / parts) {
                        let bits = embeddingBits(at: rows[i])
                        // 8 values per step: fp16 widened in SIMD lanes (as `widen`), two 4-lane sums.
                        var a0 = SIMD4<Float>(), a1 = SIMD4<Float>()
                        var j = 0
                        while j + 8 <= d {
                            a0 += UnsafeRawPointer(qp).loadUnaligned(fromByteOffset: 4 * j, as: SIMD4<Float>.self)
                                * Self.widen(bits.loadUnaligned(fromByteOffset: 2 * j, as: SIMD4<UInt16>.self))
                            a1 += UnsafeRawPointer(qp).loadUnaligned(fromByteOffset: 4 * j + 16, as: SIMD4<Float>.self)
                                * Self.widen(bits.loadUnaligned(fromByteOffset: 2 * j + 8, as: SIMD4<UInt16>.self))
                            j += 8
                        }
                        var tail: Float = 0
                        let scalars = bits.assumingMemoryBound(to: UInt16.self)
                        while j < d { tail += qp[j] * Self.widen(scalars[j]); j += 1 }
                        op[i] = (a0 + a1).sum() + tail
                    }
                }
            }
        }
        return sims
    }

    /// The number of set bits of each byte of `v` (SWAR; x86-64's baseline has no popcount instruction).
    @inline(__always)
    static func byteCounts(_ v: UInt64) -> UInt64 {
        let pairs = v &- ((v >> 1) & 0x5555_5555_5555_5555)
        let nibbles = (pairs & 0x3333_3333_3333_3333) &+ ((pairs >> 2) & 0x3333_3333_3333_3333)
        return (nibbles &+ (nibbles >> 4)) & 0x0F0F_0F0F_0F0F_0F0F
    }

    /// The sum of the 8 byte counts of `v` (each ≤ 128): folded into 16-bit lanes, then summed by a multiply.
    @inline(__always)
    static func sumBytes(_ v: UInt64) -> Int {
        let lanes = (v & 0x00FF_00FF_00FF_00FF) &+ ((v >> 8) & 0x00FF_00FF_00FF_00FF)
        return Int(truncatingIfNeeded: (lanes &* 0x0001_0001_0001_0001) >> 48)
    }

    /// `widen` of 4 little-endian fp16 values at once.
    @inline(__always)
    static func widen(_ bits: SIMD4<UInt16>) -> SIMD4<Float> {
        #if _endian(big)
        let bits = SIMD4(bits[0].byteSwapped, bits[1].byteSwapped, bits[2].byteSwapped, bits[3].byteSwapped)
        #endif
        let h = SIMD4<UInt32>(truncatingIfNeeded: bits)
        let magnitude = unsafeBitCast((h & 0x7FFF) &<< 13, to: SIMD4<Float>.self) * 0x1p112
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD4<UInt32>.self) | ((h & 0x8000) &<< 16), to: SIMD4<Float>.self)
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

/// The `capacity` highest values seen, with an optional row each (a binary min-heap: the root is the lowest kept).
struct FloatTopHeap {
    let capacity: Int
    private(set) var items: [Float] = []
    private(set) var rows: [Int] = []

    init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(min(capacity, 1 << 16))
        rows.reserveCapacity(min(capacity, 1 << 16))
    }

    var isFull: Bool { items.count >= capacity }
    var minimum: Float { items.first ?? -.infinity }

    private mutating func swap(_ i: Int, _ j: Int) {
        items.swapAt(i, j)
        rows.swapAt(i, j)
    }

    /// Inserts `value` (of `row`) if it is among the highest; returns whether it was kept.
    @discardableResult
    mutating func insert(_ value: Float, row: Int = -1) -> Bool {
        if items.count < capacity {
            items.append(value)
            rows.append(row)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard items[i] < items[parent] else { break }
                swap(i, parent)
                i = parent
            }
            return true
        }
        guard value > items[0] else { return false }
        items[0] = value
        rows[0] = row
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count, items[l] < items[smallest] { smallest = l }
            if r < items.count, items[r] < items[smallest] { smallest = r }
            if smallest == i { break }
            swap(i, smallest)
            i = smallest
        }
        return true
    }
}
