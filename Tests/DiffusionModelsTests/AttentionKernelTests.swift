import CKernels
import Foundation
import TestSupport
import Testing

/// `ck_attention` (the fused attention of the UNet and the VAE) against softmax(scale·QKᵀ)V computed in Float64,
/// on every kernel path, for head widths and key counts that are and are not multiples of the vector widths, with
/// heads interleaved in the rows (leading dimensions larger than the head) as the models lay them out.
/// Tolerance: ≤ 1e-5 relative to the output's largest magnitude (Float32 sums over ≤ 4096 keys). The scratch starts
/// as NaN, so any read of it before the kernel writes it shows. Shapes include one 512-wide head (as the VAE's) and the
/// key-blocked path (online softmax) the kernel takes when K and V outgrow L2.
@Suite(.serialized)
struct AttentionKernelTests {
    static func reference(q: [Float], k: [Float], v: [Float], rows: Int, m: Int, d: Int, ld: Int, column: Int,
                          scale: Float) -> [Double] {
        var out = [Double](repeating: 0, count: rows * d)
        for i in 0..<rows {
            var scores = (0..<m).map { j in
                (0..<d).reduce(0.0) { $0 + Double(q[i * ld + column + $1]) * Double(k[j * ld + column + $1]) } * Double(scale)
            }
            let top = scores.max() ?? 0
            scores = scores.map { exp($0 - top) }
            let total = scores.reduce(0, +)
            for e in 0..<d {
                out[i * d + e] = (0..<m).reduce(0.0) { $0 + scores[$1] * Double(v[$1 * ld + column + e]) } / total
            }
        }
        return out
    }

    @Test(arguments: [(37, 77, 40), (50, 130, 80), (9, 5, 3), (20, 300, 16), (7, 64, 160), (2, 2048, 512),
                      // SD 1.x shapes (64², 32², 16² latents: 4096 × 40, 1024 × 80, 256 × 160; 77 text tokens), row
                      // counts that leave partial register blocks, and head widths whose last columns are a masked
                      // whole vector (44) or an AVX-512 half vector (20, 24, 72: 8 or fewer columns past the vectors).
                      (13, 4096, 40), (11, 1024, 80), (5, 256, 160), (17, 77, 80), (6, 77, 160), (9, 65, 20), (3, 70, 24),
                      (8, 100, 72), (7, 257, 44),
                      // Key blocks with the online softmax (K and V past CK_ATTENTION_L2 = 1 MB: 512 keys per block
                      // here) over two blocks of query rows (CK_ATTENTION_ROWS = 96), the last block partial.
                      (100, 600, 256)])
    func matchesFloat64Reference(shape: (Int, Int, Int)) {
        let (rows, m, d) = shape
        let heads = 2, ld = heads * d + 3  // two heads side by side, plus 3 unused columns
        let q = deterministicValues(rows * ld, seed: 1, halfWidth: 2)
        let k = deterministicValues(m * ld, seed: 2, halfWidth: 2)
        let v = deterministicValues(m * ld, seed: 3, halfWidth: 2)
        let scale = 1 / Float(d).squareRoot()
        let expectations = (0..<heads).map { head in  // once, not per path (the larger shapes take a while)
            Self.reference(q: q, k: k, v: v, rows: rows, m: m, d: d, ld: ld, column: head * d, scale: scale)
        }
        onEveryKernelPath { path in
            for head in 0..<heads {
                let column = head * d
                let sentinel: Float = 12345
                var out = [Float](repeating: sentinel, count: rows * ld)
                var scratch = [Float](repeating: .nan, count: ck_attention_scratch_count(Int32(m), Int32(d)))
                ck_attention(q.withUnsafeBufferPointer { $0.baseAddress! + column }, Int32(ld), Int32(rows),
                             k.withUnsafeBufferPointer { $0.baseAddress! + column }, v.withUnsafeBufferPointer { $0.baseAddress! + column },
                             Int32(ld), Int32(m), Int32(d), scale, out.withUnsafeMutableBufferPointer { $0.baseAddress! + column },
                             Int32(ld), &scratch)
                let expected = expectations[head]
                let largest = expected.map(abs).max() ?? 1
                var worst = 0.0
                for i in 0..<rows {
                    for e in 0..<d { worst = max(worst, abs(Double(out[i * ld + column + e]) - expected[i * d + e])) }
                    // Columns outside this head are left alone.
                    for e in 0..<ld where e < column || e >= column + d { #expect(out[i * ld + e] == sentinel, "path \(path)") }
                }
                #expect(worst / largest <= 1e-5, "path \(path), shape \(shape), head \(head): \(worst / largest)")
            }
        }
    }

    /// Large scores (scale·q·k up to ±800) must not overflow: the maximum is subtracted before e^x.
    @Test func largeScoresStayFinite() {
        let rows = 5, m = 33, d = 20
        let q = deterministicValues(rows * d, seed: 4, halfWidth: 2).map { $0 * 10 }
        let k = deterministicValues(m * d, seed: 5, halfWidth: 2).map { $0 * 10 }
        let v = deterministicValues(m * d, seed: 6, halfWidth: 2)
        onEveryKernelPath { path in
            var out = [Float](repeating: 0, count: rows * d)
            var scratch = [Float](repeating: .nan, count: ck_attention_scratch_count(Int32(m), Int32(d)))
            ck_attention(q, Int32(d), Int32(rows), k, v, Int32(d), Int32(m), Int32(d), 1, &out, Int32(d), &scratch)
            let expected = Self.reference(q: q, k: k, v: v, rows: rows, m: m, d: d, ld: d, column: 0, scale: 1)
            let finite = out.allSatisfy { $0.isFinite }
            #expect(finite, "path \(path)")
            let worst = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * (expected.map(abs).max() ?? 1), "path \(path)")
        }
    }
}
