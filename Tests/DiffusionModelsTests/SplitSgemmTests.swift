@testable import DiffusionModels
import Foundation
import TestSupport
import Testing

/// `sgemm` splits products of ≥ `parallelProductFlops` into bands of C's rows or columns, one single-threaded
/// `cblas_sgemm` per core. Checked against C = α·op(A)·op(B) + β·C summed in Float64, for all four transpose
/// combinations, with lengths that are not multiples of the 16-wide bands and leading dimensions wider than the
/// operands (the models' head-interleaved layouts). Tolerance: ≤ 1e-5 relative to the largest |C|.
struct SplitSgemmTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)], [(301, 67), (45, 409)])
    func bandsEqualTheProduct(transposes: (Bool, Bool), shape: (Int, Int)) {
        let (ta, tb) = transposes
        let (m, n) = shape, k = 3_000, pad = 5
        #expect(2.0 * Double(m * n * k) >= parallelProductFlops)  // the split path really runs
        let lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad
        let a = deterministicValues((ta ? k : m) * lda, seed: 1), b = deterministicValues((tb ? n : k) * ldb, seed: 2)
        var c = deterministicValues(m * ldc, seed: 3)
        let c0 = c
        let alpha: Float = 0.75, beta: Float = 0.5
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                  b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
        } } }
        var worst = 0.0, largest = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = Double(ta ? a[p * lda + i] : a[i * lda + p]), y = Double(tb ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x * y
                }
                let expected = Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])
                worst = max(worst, abs(expected - Double(c[i * ldc + j])))
                largest = max(largest, abs(expected))
            }
            for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j]) }  // the padding is never written
        }
        #expect(worst <= 1e-5 * largest, "max |error| \(worst) of \(largest)")
    }
}
