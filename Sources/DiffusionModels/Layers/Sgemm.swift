import CBLAS
import Foundation
import Tensors

/// Products of at least this many flops run on every core. The models' products run back to back, so OpenBLAS's
/// workers stay busy between calls and pay off far below `BLASRuntime.parallelFlops` (4 GFLOP, chosen for the
/// isolated products of register and compose); `CONCEPTS_BLAS_THREADS` still overrides, as for every call.
let parallelProductFlops = 1e8

/// Row-major `C = α·op(A)·op(B) + β·C` through OpenBLAS (`cblas_sgemm`), the product every large layer uses.
@inline(__always)
func sgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
           c: UnsafeMutablePointer<Float>, ldc: Int) {
    BLASRuntime.threads(forFlops: 2 * Double(m) * Double(n) * Double(k), parallelFrom: parallelProductFlops)
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    GEMMStatistics.add(2 * m * n * k)
}

/// Floating-point operations of every matrix product the models ran (2·m·n·k per `sgemm`), for benchmarks'
/// GFLOP/s figures: nearly all of a step's arithmetic.
public enum GEMMStatistics {
    private final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var flops = 0
    }
    private static let counter = Counter()

    static func add(_ flops: Int) {
        counter.lock.lock()
        counter.flops += flops
        counter.lock.unlock()
    }

    /// Operations counted since the process started.
    public static var flops: Int {
        counter.lock.lock()
        defer { counter.lock.unlock() }
        return counter.flops
    }
}

/// Sets each of `rows` rows of `c` (`columns` values, leading dimension `ldc`) to `bias[row]` (or 0).
func fillRows(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ldc: Int, bias: (Int) -> Float) {
    for r in 0..<rows {
        (c + r * ldc).update(repeating: bias(r), count: columns)
    }
}

/// Sets each of `rows` rows of `c` (`columns` values each, contiguous) to the vector `bias` (or zeros).
func fillColumns(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: [Float]?) {
    guard let bias else { c.update(repeating: 0, count: rows * columns); return }
    bias.withUnsafeBufferPointer { b in
        guard let base = b.baseAddress else { return }
        for r in 0..<rows { (c + r * columns).update(from: base, count: columns) }
    }
}
