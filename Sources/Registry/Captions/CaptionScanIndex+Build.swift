import Foundation
import GRDB

/// Computing a set's index file (layout and estimator: `CaptionScanIndex`; streaming and files:
/// `CaptionScanIndexWriter`).
extension CaptionScanIndex {
    /// Seed of the rotation's random signs (fixed: an index is reproducible from the catalog).
    /// Format 04 (`CaptionRotation`, FHT-Kac); format 03 used 0xCA97_1DE5_0001_0002 for a dense Gaussian `P`.
    static let rotationSeed: UInt64 = 0xCA97_1DE5_0001_0004
    /// Rows per block of the centroid's partial sums (a fixed partition: the same sum whatever the thread count).
    static let centroidBlock = 8192

    /// Builds the index of set `setID` at `revision` from the catalog (one read transaction over the
    /// set's rows in id order) when a search finds no usable file.
    static func build(path: String, setID: Int64, revision: Int64, dimension d: Int, database: DatabasePool) throws -> CaptionScanIndex {
        let writer = try CaptionScanIndexWriter(path: path, setID: setID, revision: revision, dimension: d)
        try database.read { db in
            let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caption WHERE set_id = ?", arguments: [setID]) ?? 0
            try appendCatalogRows(setID: setID, db: db, to: writer)
            guard writer.ids.count == n else { throw CaptionError.scanIndex(path: path, reason: "the set changed while it was indexed") }
        }
        try writer.finish()
        return try writer.publish()
    }

    /// Appends the rows of set `setID` in the catalog to `writer`, in id order.
    static func appendCatalogRows(setID: Int64, db: Database, to writer: CaptionScanIndexWriter) throws {
        let cursor = try Row.fetchCursor(db, sql: "SELECT id, embedding FROM caption WHERE set_id = ? ORDER BY id", arguments: [setID])
        while let row = try cursor.next() {
            let id: Int64 = row[0]
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { throw CaptionError.scanIndex(path: writer.path, reason: "caption \(id) has no embedding") }
                try writer.append(id: id, data: data)
            }
        }
    }

    /// Fills a mapped index file whose rows section is written (`layout.count` rows, ids in id
    /// order): the centroid (Float64 sums), `P`, the codes and factors (in parallel, one row at a
    /// time: the bytes do not depend on the thread count), the ids and the header with its checksum.
    static func fill(_ base: UnsafeMutableRawPointer, layout: Layout, ids: [Int64], setID: Int64, revision: Int64, path: String) throws {
        let n = layout.count, d = layout.dimension, codeBytes = layout.codeBytes
        func fail(_ reason: String) -> CaptionError { .scanIndex(path: path, reason: reason) }
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        nonisolated(unsafe) let rows = UnsafeRawPointer(base + layout.rows).assumingMemoryBound(to: UInt16.self)

        // The centroid: per-block Float64 partial sums, added in block order; non-finite rows refused.
        let blocks = (n + centroidBlock - 1) / centroidBlock
        var partial = [Double](repeating: 0, count: blocks * d)
        var firstBad = [Int](repeating: Int.max, count: blocks)
        partial.withUnsafeMutableBufferPointer { partialBuffer in
            firstBad.withUnsafeMutableBufferPointer { badBuffer in
                nonisolated(unsafe) let sums = partialBuffer.baseAddress!, bad = badBuffer.baseAddress!
                DispatchQueue.concurrentPerform(iterations: blocks) { b in
                    let total = sums + b * d
                    for i in (b * centroidBlock)..<min(n, (b + 1) * centroidBlock) {
                        let row = rows + i * d
                        var finite = true
                        for j in 0..<d {
                            let bits = row[j]
                            finite = finite && UInt16(littleEndian: bits) & 0x7C00 != 0x7C00
                            total[j] += Double(widen(bits))
                        }
                        if !finite, bad[b] == Int.max { bad[b] = i }
                    }
                }
            }
        }
        if let row = firstBad.min(), row != Int.max { throw fail("caption \(ids[row]) has a non-finite embedding") }
        var sum = [Double](repeating: 0, count: d)
        for b in 0..<blocks { for j in 0..<d { sum[j] += partial[b * d + j] } }
        let centroid = sum.map { n > 0 ? Float($0 / Double(n)) : 0 }
        let centroidNorm2 = centroid.reduce(Float(0)) { $0 + $1 * $1 }
        let rotation = CaptionRotation(dimension: d, seed: rotationSeed)

        // Codes and factors: y = P(x − c), r = ‖y‖, a = Σ|y_i| / (r√d), the signs of y.
        let sqrtD = Float(d).squareRoot()
        nonisolated(unsafe) let factors = (base + layout.factors).assumingMemoryBound(to: Float.self)
        nonisolated(unsafe) let codes = (base + layout.codes).assumingMemoryBound(to: UInt8.self)
        centroid.withUnsafeBufferPointer { centroidBuffer in
            nonisolated(unsafe) let c = centroidBuffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                let y = UnsafeMutablePointer<Float>.allocate(capacity: d)
                let scratch = rotation.makeScratch()
                defer { y.deallocate(); scratch.deallocate() }
                for i in (n * part / threads)..<(n * (part + 1) / threads) {
                    let row = rows + i * d
                    var dot: Float = 0
                    for j in 0..<d {
                        let x = widen(row[j])
                        y[j] = x - c[j]
                        dot += x * c[j]
                    }
                    rotation.apply(y, scratch: scratch)
                    var norm2: Float = 0, l1: Float = 0
                    let code = codes + i * codeBytes
                    code.update(repeating: 0, count: codeBytes)
                    for j in 0..<d {
                        norm2 += y[j] * y[j]
                        l1 += abs(y[j])
                        if y[j] >= 0 { code[j >> 3] |= 1 << UInt8(j & 7) }
                    }
                    let r = norm2.squareRoot()
                    var fDot: Float = 0, fErr: Float = 0
                    if r > 0, l1 > 0 {
                        let a = min(1, l1 / (r * sqrtD))  // ⟨x̄, x̂⟩ ∈ (0, 1]
                        fDot = r / a
                        fErr = r * max(0, 1 - a * a).squareRoot() / a
                    }
                    for (k, v) in [fDot, fErr, dot - centroidNorm2, r].enumerated() {
                        (factors + 4 * i + k).withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee = v.bitPattern.littleEndian }
                    }
                }
            }
        }

        // Ids, then the header, P and c with their checksum.
        for (k, id) in ids.enumerated() { base.storeBytes(of: id.littleEndian, toByteOffset: layout.ids + 8 * k, as: Int64.self) }
        for (k, v) in rotation.dense().enumerated() { base.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: layout.rotation + 4 * k, as: UInt32.self) }
        for (k, v) in centroid.enumerated() { base.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: layout.centroid + 4 * k, as: UInt32.self) }
        for (k, byte) in magic.enumerated() { base.storeBytes(of: byte, toByteOffset: k, as: UInt8.self) }
        let fields: [UInt64] = [UInt64(n), UInt64(d), UInt64(bitPattern: setID), UInt64(bitPattern: revision), UInt64(codeBytes), rotationSeed]
        for (k, v) in fields.enumerated() { base.storeBytes(of: v.littleEndian, toByteOffset: 8 + 8 * k, as: UInt64.self) }
        base.storeBytes(of: checksum(UnsafeRawPointer(base), layout: layout).littleEndian, toByteOffset: 56, as: UInt64.self)
    }
}
