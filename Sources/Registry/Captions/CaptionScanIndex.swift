import Foundation
import GRDB

/// The quantised scan index of one caption set (a memory-mapped side file under
/// `<store>/cache/captions/`, rebuilt lazily when the set's revision changes).
///
/// Each stored (L2-normalised, fp16) embedding `x` is quantised symmetrically per vector to int8:
/// `s_x = max|x_i| / 127`, `c_i = round(x_i / s_x)`, so `q·x ≈ s_q s_x Σ cq_i c_i`. The error of
/// that estimate is at most `s_x/2 ‖q‖₁ + s_q/2 ‖x‖₁ + d s_q s_x / 4` (rounding error ≤ half a
/// step per component), which is used as a rigorous margin below the threshold: the scan never
/// drops a caption whose exact similarity passes the threshold. The best candidates by estimate
/// are then re-ranked exactly from the catalog's fp16 embeddings (`Store.searchCaptions`).
///
/// File layout (little-endian): `"CAPIDX01"`, then UInt64 count n, dimension d, set id, revision;
/// int8 codes (n × d, row-major); Int64 caption ids (n); Float32 scales (n).
final class CaptionScanIndex: @unchecked Sendable {
    // `@unchecked Sendable`: the mapping is read-only and never mutated after init.
    static let magic = Array("CAPIDX01".utf8)
    static let headerSize = 40

    let path: String
    let count: Int
    let dimension: Int
    let setID: Int64
    let revision: Int64
    private let buffer: ByteBuffer

    private var codes: UnsafePointer<Int8> { buffer.baseAddress!.advanced(by: Self.headerSize).assumingMemoryBound(to: Int8.self) }
    private var ids: UnsafeRawPointer { buffer.baseAddress!.advanced(by: Self.headerSize + count * dimension) }
    private var scales: UnsafeRawPointer { ids.advanced(by: count * 8) }

    /// Bytes read by one scan (codes and scales).
    var scanBytes: Int { count * (dimension + 4) }

    /// Opens an index file; nil when missing or for another set / revision.
    init?(path: String, setID: Int64, revision: Int64) throws {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let buffer: ByteBuffer
        do { buffer = try MappedFile.map(path: path) } catch { throw CaptionError.scanIndex(path: path, reason: error.localizedDescription) }
        guard buffer.count >= Self.headerSize, let base = buffer.baseAddress else { throw CaptionError.scanIndex(path: path, reason: "truncated") }
        let header = UnsafeRawBufferPointer(start: base, count: Self.headerSize)
        guard Array(header[0..<8]) == Self.magic else { throw CaptionError.scanIndex(path: path, reason: "bad magic") }
        func field(_ k: Int) -> UInt64 { UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 8 + 8 * k, as: UInt64.self)) }
        let n = Int(clamping: field(0)), d = Int(clamping: field(1))
        guard Int64(bitPattern: field(2)) == setID, Int64(bitPattern: field(3)) == revision else { return nil }
        guard d > 0, n >= 0, buffer.count == Self.headerSize + n * (d + 12) else {
            throw CaptionError.scanIndex(path: path, reason: "size does not match its header")
        }
        self.path = path
        self.buffer = buffer
        count = n
        dimension = d
        self.setID = setID
        self.revision = revision
    }

    func id(at row: Int) -> Int64 { Int64(littleEndian: ids.loadUnaligned(fromByteOffset: 8 * row, as: Int64.self)) }
    func scale(at row: Int) -> Float { Float(bitPattern: UInt32(littleEndian: scales.loadUnaligned(fromByteOffset: 4 * row, as: UInt32.self))) }

    // MARK: Building

    /// Writes the index of set `setID` at `revision` from the catalog (streaming), atomically.
    static func build(path: String, setID: Int64, revision: Int64, dimension: Int, database: DatabasePool) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CaptionError.scanIndex(path: temporary, reason: "cannot create")
        }
        defer { try? handle.close(); try? FileManager.default.removeItem(atPath: temporary) }
        var ids: [Int64] = [], scales: [Float] = []
        try database.read { db in
            var header = Data(magic)
            for v in [UInt64(0), UInt64(dimension), UInt64(bitPattern: setID), UInt64(bitPattern: revision)] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
            try handle.write(contentsOf: header)
            var chunk = Data(capacity: 1 << 22)
            var values = [Float](repeating: 0, count: dimension)
            let cursor = try Row.fetchCursor(db, sql: "SELECT id, embedding FROM caption WHERE set_id = ? ORDER BY id", arguments: [setID])
            while let row = try cursor.next() {
                let embedding: Data = row["embedding"]
                guard embedding.count == 2 * dimension else { throw CaptionError.scanIndex(path: path, reason: "caption \(row["id"] as Int64) has a \(embedding.count)-byte embedding") }
                var maxAbs: Float = 0
                embedding.withUnsafeBytes { raw in
                    for j in 0..<dimension {
                        values[j] = HalfPrecision.float(fromFloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)))
                        maxAbs = max(maxAbs, abs(values[j]))
                    }
                }
                let scale = maxAbs > 0 ? maxAbs / 127 : 1
                let codes = values.map { UInt8(bitPattern: Int8(clamping: Int(($0 / scale).rounded()))) }
                chunk.append(contentsOf: codes)
                ids.append(row["id"])
                scales.append(scale)
                if chunk.count >= 1 << 22 { try handle.write(contentsOf: chunk); chunk.removeAll(keepingCapacity: true) }
            }
            try handle.write(contentsOf: chunk)
        }
        try handle.write(contentsOf: ids.withUnsafeBytes { Data($0) })
        try handle.write(contentsOf: scales.withUnsafeBytes { Data($0) })
        try handle.seek(toOffset: 8)
        try handle.write(contentsOf: withUnsafeBytes(of: UInt64(ids.count).littleEndian) { Data($0) })
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw CaptionError.scanIndex(path: path, reason: String(cString: strerror(errno))) }
    }

    // MARK: Scanning

    /// Rows whose estimated similarity to unit-norm `query` is at least `threshold − margin`,
    /// the best `capacity` of them by estimate (unordered). Splits the rows over `threads`.
    func candidates(query: [Float], threshold: Float, capacity: Int, threads: Int) -> [Int] {
        guard count > 0, query.count == dimension, capacity > 0 else { return [] }
        let queryMax = query.reduce(Float(0)) { max($0, abs($1)) }
        let queryScale = queryMax > 0 ? queryMax / 127 : 1
        let queryCodes = query.map { Int8(clamping: Int(($0 / queryScale).rounded())) }
        let queryL1 = query.reduce(Float(0)) { $0 + abs($1) }
        let sqrtD = Float(dimension).squareRoot()
        let parts = max(1, min(threads, count / 4096 + 1))
        // Each part writes only its own slot; the pointers outlive `concurrentPerform`.
        nonisolated(unsafe) let results = UnsafeMutablePointer<[ScoredRow]>.allocate(capacity: parts)
        results.initialize(repeating: [], count: parts)
        defer { results.deinitialize(count: parts); results.deallocate() }
        let n = count, d = dimension
        queryCodes.withUnsafeBufferPointer { q in
            guard let base = q.baseAddress else { return }
            nonisolated(unsafe) let qp = base
            nonisolated(unsafe) let codes = codes
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                var heap = TopHeap(capacity: capacity)
                let lo = n * part / parts, hi = n * (part + 1) / parts
                var row = lo
                var x = codes.advanced(by: lo * d)
                while row < hi {
                    var acc: Int32 = 0
                    for j in 0..<d { acc &+= Int32(qp[j]) &* Int32(x[j]) }
                    let s = scale(at: row)
                    let estimate = Float(acc) * s * queryScale
                    // Rigorous bound of the int8 estimate's error (see the type's doc comment).
                    let margin = s * 0.5 * queryL1 + queryScale * 0.5 * sqrtD + Float(d) * s * queryScale * 0.25
                    if estimate + margin >= threshold { heap.insert(ScoredRow(score: estimate, row: row)) }
                    row += 1
                    x = x.advanced(by: d)
                }
                results[part] = heap.items
            }
        }
        var merged = TopHeap(capacity: capacity)
        for part in 0..<parts { for item in results[part] { merged.insert(item) } }
        return merged.items.map(\.row)
    }
}

/// A row and its estimated score.
struct ScoredRow: Sendable {
    var score: Float
    var row: Int
}

/// The `capacity` highest scores seen (a binary min-heap: the root is the lowest kept).
struct TopHeap {
    let capacity: Int
    private(set) var items: [ScoredRow] = []

    init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(min(capacity, 1 << 16))
    }

    mutating func insert(_ item: ScoredRow) {
        if items.count < capacity {
            items.append(item)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard items[i].score < items[parent].score else { break }
                items.swapAt(i, parent)
                i = parent
            }
        } else if item.score > items[0].score {
            items[0] = item
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count, items[l].score < items[smallest].score { smallest = l }
                if r < items.count, items[r].score < items[smallest].score { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
    }
}
