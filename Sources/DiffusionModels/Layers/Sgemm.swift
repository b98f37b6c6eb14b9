import CBLAS
import Foundation
import Tensors

/// Products of at least this many flops run on every core. The models' products run back to back, so OpenBLAS's
/// workers stay busy between calls and pay off far below `BLASRuntime.parallelFlops` (4 GFLOP, chosen for the
/// isolated products of register and compose); `CONCEPTS_BLAS_THREADS` still overrides, as for every call.
let parallelProductFlops = 1e8

/// Row-major `C = α·op(A)·op(B) + β·C` through OpenBLAS (`cblas_sgemm`), the product every large layer uses.
///
/// Products of at least `parallelProductFlops` are split in `Parallel.threads` bands of C's rows (or of its columns,
/// whichever dimension is longer), each a single-threaded `cblas_sgemm` on its own core. OpenBLAS's own threading
/// synchronises its threads inside every product and leaves its workers spinning in `sched_yield` between them
/// (15 % of a 512² step's CPU time, against our kernels' threads); the bands need neither, at the price of packing
/// the shared operand once per band. `CONCEPTS_GEMM_SPLIT=0` goes back to OpenBLAS's threads (for A/B).
@inline(__always)
func sgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
           c: UnsafeMutablePointer<Float>, ldc: Int) {
    let flops = 2 * Double(m) * Double(n) * Double(k)
    GEMMStatistics.add(2 * m * n * k)
    guard GEMMSplit.enabled, flops >= parallelProductFlops, Parallel.threads > 1 else {
        BLASRuntime.threads(forFlops: flops, parallelFrom: parallelProductFlops)
        singleSgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    BLASRuntime.threads(forFlops: 0)
    let alongRows = m >= n
    let length = alongRows ? m : n
    let blocks = (length + 15) / 16  // bands start on multiples of 16 rows/columns (whole kernel panels)
    let parts = min(Parallel.threads, blocks)
    Parallel.forEachPart(blocks, parts: parts) { _, range in
        let start = range.lowerBound * 16, count = min(length, range.upperBound * 16) - start
        guard count > 0 else { return }
        if alongRows {
            singleSgemm(transposeA: transposeA, transposeB: transposeB, m: count, n: n, k: k, alpha: alpha,
                        a: transposeA ? a + start : a + start * lda, lda: lda, b: b, ldb: ldb, beta: beta,
                        c: c + start * ldc, ldc: ldc)
        } else {
            singleSgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: count, k: k, alpha: alpha, a: a,
                        lda: lda, b: transposeB ? b + start * ldb : b + start, ldb: ldb, beta: beta, c: c + start,
                        ldc: ldc)
        }
    }
}

/// `C = A·B` (row-major, no transposes) as one single-threaded `cblas_sgemm` on the calling thread, counted in
/// `GEMMStatistics`: for products that callers already run side by side on the cores (the Winograd blocks).
/// OpenBLAS must be single-threaded (`BLASRuntime.threads(forFlops: 0)`) before.
func singleThreadedSgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
    GEMMStatistics.add(2 * m * n * k)
    singleSgemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                beta: 0, c: c, ldc: ldc)
}

/// Whether `sgemm` splits large products itself (`CONCEPTS_GEMM_SPLIT=0`: no, OpenBLAS threads them).
enum GEMMSplit {
    static let enabled: Bool = getenv("CONCEPTS_GEMM_SPLIT").map { String(cString: $0) != "0" } ?? true
}

@inline(__always)
private func singleSgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
