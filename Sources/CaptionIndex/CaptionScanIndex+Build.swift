import Foundation

/// Computing a set's index file (layout and estimator: `CaptionScanIndex`; streaming and files:
/// `CaptionScanIndexWriter`).
extension CaptionScanIndex {
    /// Seed of the rotation's random signs (fixed: an index is reproducible from the catalog).
    /// Format 04 (`CaptionRotation`, FHT-Kac); format 03 used 0xCA97_1DE5_0001_0002 for a dense Gaussian `P`.
    static let rotationSeed: UInt64 = 0xCA97_1DE5_0001_0004
    /// Rows per block of the centroid's partial sums (a fixed partition: the same sum whatever the thread count).
    static let centroidBlock = 8192

    /// Builds the index of set `setID` at `revision` from its rows, when a search finds no usable
    /// file: `rows` calls `append` once per caption, in id order, with the caption's id and its stored
    /// embedding (`dimension` little-endian fp16 values, `2 × dimension` bytes, as the catalog holds
    /// them). The caller reads them (the store, in one read transaction over the set's rows).
    public static func build(path: String, setID: Int64, revision: Int64, dimension d: Int,
                             rows: (_ append: (_ id: Int64, _ row: Data) throws -> Void) throws -> Void) throws -> CaptionScanIndex {
        let writer = try CaptionScanIndexWriter(path: path, setID: setID, revision: revision, dimension: d)
        try rows { id, row in try writer.append(id: id, data: row) }
        try writer.finish()
        return try writer.publish()
    }

    /// Completes an index file whose rows section is written (`layout.count` rows; `ids` in id
    /// order), through `fd` in blocks of `centroidBlock` rows (memory stays at a few blocks; no
    /// mapping, so the process's RSS does not grow with the file): the centroid (Float64 partial sums
    /// per block, added in block order), the codes and factors (in parallel, one row at a time), the
    /// ids, and the header, `P` and `c` with their checksum. The bytes do not depend on the thread count.
    static func fill(fd: Int32, layout: Layout, ids: [Int64], setID: Int64, revision: Int64, path: String) throws {
        let n = layout.count, d = layout.dimension, codeBytes = layout.codeBytes, block = centroidBlock
        @Sendable func fail(_ reason: String) -> CaptionError { .scanIndex(path: path, reason: reason) }
        let blocks = (n + block - 1) / block
        let threads = max(1, min(blocks, ProcessInfo.processInfo.activeProcessorCount))
        let failures = FailureSlot()

        // The centroid: per-block Float64 partial sums; non-finite rows refused.
        var partial = [Double](repeating: 0, count: blocks * d)
        var firstBad = [Int](repeating: Int.max, count: blocks)
        partial.withUnsafeMutableBufferPointer { partialBuffer in
            firstBad.withUnsafeMutableBufferPointer { badBuffer in
                nonisolated(unsafe) let sums = partialBuffer.baseAddress!, bad = badBuffer.baseAddress!
                DispatchQueue.concurrentPerform(iterations: threads) { part in
                    let rows = UnsafeMutablePointer<UInt16>.allocate(capacity: block * d)
                    defer { rows.deallocate() }
                    for b in stride(from: part, to: blocks, by: threads) {
                        let first = b * block, count = min(n, first + block) - first
                        guard failures.first == nil else { return }
                        if let problem = readFully(fd, rows, bytes: 2 * d * count, at: layout.rows + 2 * d * first) { failures.record(fail(problem)); return }
                        let total = sums + b * d
                        for i in 0..<count where !accumulate(rows + i * d, into: total, d: d) {
                            if bad[b] == Int.max { bad[b] = first + i }
                        }
                    }
                }
            }
        }
        if let failure = failures.first { throw failure }
        if let row = firstBad.min(), row != Int.max { throw fail("caption \(ids[row]) has a non-finite embedding") }
        var sum = [Double](repeating: 0, count: d)
        for b in 0..<blocks { for j in 0..<d { sum[j] += partial[b * d + j] } }
        let centroid = sum.map { n > 0 ? Float($0 / Double(n)) : 0 }
        let centroidNorm2 = centroid.reduce(Float(0)) { $0 + $1 * $1 }
        let rotation = CaptionRotation(dimension: d, seed: rotationSeed)

        // Codes and factors: y = P(x − c), r = ‖y‖, a = Σ|y_i| / (r√d), the signs of y.
        let sqrtD = Float(d).squareRoot()
        centroid.withUnsafeBufferPointer { centroidBuffer in
            nonisolated(unsafe) let c = centroidBuffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                let rows = UnsafeMutablePointer<UInt16>.allocate(capacity: block * d)
                let factors = UnsafeMutablePointer<Float>.allocate(capacity: 4 * block)
                let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: codeBytes * block)
                let y = UnsafeMutablePointer<Float>.allocate(capacity: d)
                let scratch = rotation.makeScratch()
                defer { rows.deallocate(); factors.deallocate(); codes.deallocate(); y.deallocate(); scratch.deallocate() }
                for b in stride(from: part, to: blocks, by: threads) {
                    let first = b * block, count = min(n, first + block) - first
                    guard failures.first == nil else { return }
                    if let problem = readFully(fd, rows, bytes: 2 * d * count, at: layout.rows + 2 * d * first) { failures.record(fail(problem)); return }
                    codes.update(repeating: 0, count: codeBytes * count)
                    for i in 0..<count {
                        let dot = center(rows + i * d, c, into: y, d: d)
                        rotation.apply(y, scratch: scratch)
                        let (norm2, l1) = signsAndNorms(y, into: codes + i * codeBytes, d: d)
                        let r = norm2.squareRoot()
                        var fDot: Float = 0, fErr: Float = 0
                        if r > 0, l1 > 0 {
                            let a = min(1, l1 / (r * sqrtD))  // ⟨x̄, x̂⟩ ∈ (0, 1]
                            fDot = r / a
                            fErr = r * max(0, 1 - a * a).squareRoot() / a
                        }
                        let f = factors + 4 * i
                        f[0] = fDot; f[1] = fErr; f[2] = dot - centroidNorm2; f[3] = r
                    }
                    #if _endian(big)
                    for k in 0..<(4 * count) { factors[k] = Float(bitPattern: factors[k].bitPattern.littleEndian) }
                    #endif
                    if let problem = writeFully(fd, factors, bytes: 16 * count, at: layout.factors + 16 * first)
                        ?? writeFully(fd, codes, bytes: codeBytes * count, at: layout.codes + codeBytes * first) {
                        failures.record(fail(problem)); return
                    }
                }
            }
        }
        if let failure = failures.first { throw failure }

        // Ids, then the header, P and c with their checksum.
        var idBytes = ids.map(\.littleEndian)
        if let problem = idBytes.withUnsafeMutableBufferPointer({ writeFully(fd, $0.baseAddress!, bytes: 8 * n, at: layout.ids) }) { throw fail(problem) }
        var head = [UInt8](repeating: 0, count: layout.rows)
        head.withUnsafeMutableBytes { raw in
            for (k, byte) in magic.enumerated() { raw[k] = byte }
            let fields: [UInt64] = [UInt64(n), UInt64(d), UInt64(bitPattern: setID), UInt64(bitPattern: revision), UInt64(codeBytes), rotationSeed]
            for (k, v) in fields.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: 8 + 8 * k, as: UInt64.self) }
            for (k, v) in rotation.dense().enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: layout.rotation + 4 * k, as: UInt32.self) }
            for (k, v) in centroid.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: layout.centroid + 4 * k, as: UInt32.self) }
            raw.storeBytes(of: checksum(UnsafeRawPointer(raw.baseAddress!), layout: layout).littleEndian, toByteOffset: 56, as: UInt64.self)
        }
        if let problem = head.withUnsafeMutableBufferPointer({ writeFully(fd, $0.baseAddress!, bytes: layout.rows, at: 0) }) { throw fail(problem) }
    }

    // MARK: Row kernels (8 lanes)

    /// Adds the row's values to `total` (Float64); false when one is not finite.
    @inline(__always)
    static func accumulate(_ row: UnsafePointer<UInt16>, into total: UnsafeMutablePointer<Double>, d: Int) -> Bool {
        var finite = true
        for j in 0..<d {
            let bits = row[j]
            finite = finite && UInt16(littleEndian: bits) & 0x7C00 != 0x7C00
            total[j] += Double(widen(bits))
        }
        return finite
    }

    /// `y = x − c` for the fp16 row `x`; returns `x·c` (Float32, 8 partial sums).
    @inline(__always)
    static func center(_ row: UnsafePointer<UInt16>, _ c: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, d: Int) -> Float {
        var dots = SIMD8<Float>.zero
        var j = 0
        while j + 8 <= d {
            let x = widen(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<UInt16>.self))
            let cj = UnsafeRawPointer(c + j).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + j).storeBytes(of: x - cj, as: SIMD8<Float>.self)
            dots += x * cj
            j += 8
        }
        var dot = dots.sum()
        while j < d {
            let x = widen(row[j])
            y[j] = x - c[j]
            dot += x * c[j]
            j += 1
        }
        return dot
    }

    /// Sets bit `j` of `code` (zeroed) where `y_j ≥ 0`; returns `(‖y‖², Σ|y_j|)` (8 partial sums each).
    @inline(__always)
    static func signsAndNorms(_ y: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>, d: Int) -> (Float, Float) {
        let weights = SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)
        var squares = SIMD8<Float>.zero, absolutes = SIMD8<Float>.zero
        var j = 0
        while j + 8 <= d {
            let v = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD8<Float>.self)
            squares += v * v
            absolutes += unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
            code[j >> 3] = UInt8(truncatingIfNeeded: SIMD8<UInt32>.zero.replacing(with: weights, where: v .>= 0).wrappedSum())
            j += 8
        }
        var norm2 = squares.sum(), l1 = absolutes.sum()
        while j < d {
            norm2 += y[j] * y[j]
            l1 += abs(y[j])
            if y[j] >= 0 { code[j >> 3] |= 1 << UInt8(j & 7) }
            j += 1
        }
        return (norm2, l1)
    }

    /// `widen` of 8 little-endian fp16 values at once.
    @inline(__always)
    static func widen(_ bits: SIMD8<UInt16>) -> SIMD8<Float> {
        #if _endian(big)
        let bits = SIMD8<UInt16>((0..<8).map { bits[$0].byteSwapped })
        #endif
        let h = SIMD8<UInt32>(truncatingIfNeeded: bits)
        let magnitude = unsafeBitCast((h & 0x7FFF) &<< 13, to: SIMD8<Float>.self) * 0x1p112
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) | ((h & 0x8000) &<< 16), to: SIMD8<Float>.self)
    }

    // MARK: File I/O

    /// Reads `bytes` at `offset` (retrying short reads); the problem, or nil.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, bytes: Int, at offset: Int) -> String? {
        var done = 0
        while done < bytes {
            let got = pread(fd, buffer + done, bytes - done, off_t(offset + done))
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { return got == 0 ? "short read at \(offset + done)" : String(cString: strerror(errno)) }
            done += got
        }
        return nil
    }

    /// Writes `bytes` at `offset` (retrying short writes); the problem, or nil.
    static func writeFully(_ fd: Int32, _ buffer: UnsafeRawPointer, bytes: Int, at offset: Int) -> String? {
        var done = 0
        while done < bytes {
            let put = pwrite(fd, buffer + done, bytes - done, off_t(offset + done))
            if put < 0, errno == EINTR { continue }
            guard put > 0 else { return String(cString: strerror(errno)) }
            done += put
        }
        return nil
    }
}

/// The first error of a parallel loop (set once, read after the loop).
final class FailureSlot: @unchecked Sendable {
    // `@unchecked Sendable`: every access goes through `lock`.
    private let lock = NSLock()
    private var stored: CaptionError?
    var first: CaptionError? { lock.withLock { stored } }
    func record(_ error: CaptionError) { lock.withLock { if stored == nil { stored = error } } }
}
