import Foundation
import GRDB

/// Writing a set's index file (layout and estimator: `CaptionScanIndex`).
extension CaptionScanIndex {
    /// Seed of the rotation's Gaussian matrix (fixed: an index is reproducible from the catalog).
    static let rotationSeed: UInt64 = 0xCA97_1DE5_0001_0002
    /// Rows rotated per matrix product while building.
    static let buildBatch = 8192

    /// Writes the index of set `setID` at `revision` from the catalog: one streaming pass over the
    /// catalog (ids, fp16 rows and their mean), then codes and factors from the written rows in
    /// batches (memory stays at a few batches); written to a temporary file, synced, then renamed.
    static func build(path: String, setID: Int64, revision: Int64, dimension d: Int, database: DatabasePool) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CaptionError.scanIndex(path: temporary, reason: "cannot create")
        }
        var closed = false
        defer {
            if !closed { try? handle.close() }
            try? FileManager.default.removeItem(atPath: temporary)
        }
        func fail(_ reason: String) -> CaptionError { .scanIndex(path: path, reason: reason) }

        // Pass 1: ids and rows (in id order) from one read transaction; the centroid in Float64.
        var ids: [Int64] = []
        var sum = [Double](repeating: 0, count: d)
        let layout: Layout = try database.read { db in
            let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caption WHERE set_id = ?", arguments: [setID]) ?? 0
            let layout = Layout(count: n, dimension: d)
            ids.reserveCapacity(n)
            try handle.seek(toOffset: UInt64(layout.rows))
            var chunk = Data(capacity: 1 << 22)
            let cursor = try Row.fetchCursor(db, sql: "SELECT id, embedding FROM caption WHERE set_id = ? ORDER BY id", arguments: [setID])
            while let row = try cursor.next() {
                let id: Int64 = row[0]
                try row.withUnsafeData(atIndex: 1) { data in
                    guard let data, data.count == 2 * d else { throw fail("caption \(id) has a \(data?.count ?? 0)-byte embedding, not \(2 * d)") }
                    let finite = data.withUnsafeBytes { raw in
                        sum.withUnsafeMutableBufferPointer { total in
                            var finite = true
                            for j in 0..<d {
                                let bits = raw.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)
                                finite = finite && UInt16(littleEndian: bits) & 0x7C00 != 0x7C00
                                total[j] += Double(widen(bits))
                            }
                            return finite
                        }
                    }
                    guard finite else { throw fail("caption \(id) has a non-finite embedding") }
                    chunk.append(data)
                }
                ids.append(id)
                if chunk.count >= 1 << 22 { try handle.write(contentsOf: chunk); chunk.removeAll(keepingCapacity: true) }
            }
            try handle.write(contentsOf: chunk)
            guard ids.count == n else { throw fail("the set changed while it was indexed") }
            return layout
        }
        let n = layout.count
        let centroid = sum.map { n > 0 ? Float($0 / Double(n)) : 0 }
        let centroidNorm2 = centroid.reduce(Float(0)) { $0 + $1 * $1 }
        let rotation = try randomRotation(dimension: d, seed: rotationSeed)
        try handle.seek(toOffset: UInt64(layout.ids))
        try handle.write(contentsOf: ids.withUnsafeBytes { Data($0) })
        try handle.synchronize()

        // Pass 2: y = P(x − c) per batch of the written rows → factors and codes.
        let mapped: ByteBuffer
        do { mapped = try MappedFile.map(path: temporary) } catch { throw fail(error.localizedDescription) }
        guard mapped.count == layout.size else { throw fail("wrote \(mapped.count) bytes, expected \(layout.size)") }
        let rotationMatrix = Matrix<Float>(rows: d, cols: d, storage: rotation)
        var factorData = Data(capacity: 16 * buildBatch), codeData = Data(capacity: layout.codeBytes * buildBatch)
        let sqrtD = Float(d).squareRoot()
        var start = 0
        while start < n {
            let rows = min(buildBatch, n - start)
            var batch = Matrix<Float>(zeros: rows, d)
            var offsets = [Float](repeating: 0, count: rows)  // x·c − c·c
            let threads = ProcessInfo.processInfo.activeProcessorCount
            mapped.withUnsafeBytes { raw in
                batch.storage.withUnsafeMutableBufferPointer { outBuffer in
                    offsets.withUnsafeMutableBufferPointer { offsetBuffer in
                        centroid.withUnsafeBufferPointer { centroidBuffer in
                            nonisolated(unsafe) let bits = (raw.baseAddress! + layout.rows + 2 * d * start).assumingMemoryBound(to: UInt16.self)
                            nonisolated(unsafe) let out = outBuffer.baseAddress!, offsetOut = offsetBuffer.baseAddress!, c = centroidBuffer.baseAddress!
                            DispatchQueue.concurrentPerform(iterations: threads) { part in
                                for i in (rows * part / threads)..<(rows * (part + 1) / threads) {
                                    var dot: Float = 0
                                    for j in 0..<d {
                                        let x = widen(bits[i * d + j])
                                        out[i * d + j] = x - c[j]
                                        dot += x * c[j]
                                    }
                                    offsetOut[i] = dot - centroidNorm2
                                }
                            }
                        }
                    }
                }
            }
            let rotated = Matrix.matmul(batch, rotationMatrix, transposeB: true)  // row i = P(x_i − c)
            var factorValues = [Float](repeating: 0, count: 4 * rows)
            var codes = [UInt8](repeating: 0, count: layout.codeBytes * rows)
            rotated.storage.withUnsafeBufferPointer { ys in
                factorValues.withUnsafeMutableBufferPointer { fBuffer in
                    codes.withUnsafeMutableBufferPointer { cBuffer in
                        nonisolated(unsafe) let y0 = ys.baseAddress!, f = fBuffer.baseAddress!, c = cBuffer.baseAddress!
                        let offsetValues = offsets
                        DispatchQueue.concurrentPerform(iterations: threads) { part in
                            for i in (rows * part / threads)..<(rows * (part + 1) / threads) {
                                var norm2: Float = 0, l1: Float = 0
                                let y = y0 + i * d, code = c + i * layout.codeBytes
                                for j in 0..<d {
                                    norm2 += y[j] * y[j]
                                    l1 += abs(y[j])
                                    if y[j] >= 0 { code[j >> 3] |= 1 << UInt8(j & 7) }
                                }
                                let r = norm2.squareRoot()
                                if r > 0, l1 > 0 {
                                    let a = min(1, l1 / (r * sqrtD))  // ⟨x̄, x̂⟩ ∈ (0, 1]
                                    f[4 * i] = r / a
                                    f[4 * i + 1] = r * max(0, 1 - a * a).squareRoot() / a
                                }
                                f[4 * i + 2] = offsetValues[i]
                                f[4 * i + 3] = r
                            }
                        }
                    }
                }
            }
            factorValues.withUnsafeBytes { factorData.append(contentsOf: $0) }
            codeData.append(contentsOf: codes)
            try handle.seek(toOffset: UInt64(layout.factors + 16 * start))
            try handle.write(contentsOf: factorData)
            try handle.seek(toOffset: UInt64(layout.codes + layout.codeBytes * start))
            try handle.write(contentsOf: codeData)
            factorData.removeAll(keepingCapacity: true)
            codeData.removeAll(keepingCapacity: true)
            start += rows
        }

        // Header, rotation and centroid, with their checksum.
        var head = Data(count: layout.ids)
        head.withUnsafeMutableBytes { raw in
            for (k, byte) in magic.enumerated() { raw[k] = byte }
            let fields: [UInt64] = [UInt64(n), UInt64(d), UInt64(bitPattern: setID), UInt64(bitPattern: revision), UInt64(layout.codeBytes), rotationSeed]
            for (k, v) in fields.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: 8 + 8 * k, as: UInt64.self) }
            for (k, v) in rotation.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: layout.rotation + 4 * k, as: UInt32.self) }
            for (k, v) in centroid.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: layout.centroid + 4 * k, as: UInt32.self) }
            let sum = checksum(UnsafeRawPointer(raw.baseAddress!), layout: layout)
            raw.storeBytes(of: sum.littleEndian, toByteOffset: 56, as: UInt64.self)
        }
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: head)
        try handle.synchronize()
        try handle.close()
        closed = true
        guard rename(temporary, path) == 0 else { throw fail(String(cString: strerror(errno))) }
    }

    /// A random orthogonal d × d matrix (row-major): `P = G (GᵀG)^-½` for a seeded Gaussian `G`
    /// (`GᵀG = V Λ Vᵀ`, so `PᵀP = I`).
    static func randomRotation(dimension d: Int, seed: UInt64) throws -> [Float] {
        var random = SplitMix64(seed: seed)
        let g = Matrix<Double>(rows: d, cols: d, storage: (0..<(d * d)).map { _ in random.nextGaussian() })
        let eigen = try SymmetricEigen(g.gram)
        guard let smallest = eigen.values.first, smallest > 1e-12 * (eigen.values.last ?? 1) else {
            throw CaptionError.scanIndex(path: "rotation", reason: "singular random matrix")
        }
        var scaled = eigen.vectors  // V Λ^-½
        for i in 0..<d { for k in 0..<d { scaled.storage[i * d + k] /= eigen.values[k].squareRoot() } }
        let inverseRoot = Matrix.matmul(scaled, eigen.vectors, transposeB: true)
        return Matrix.matmul(g, inverseRoot).storage.map { Float($0) }
    }
}
