import CBLAS
import Foundation
import Tensors

/// Suite `sgemm`: throughput of the `Tensors` BLAS wrappers next to OpenBLAS called directly.
///
/// For each shape `m×k · k×n` it reports GFLOP/s (2·m·n·k flops, median of 5 runs after one warm-up)
/// of `Matrix<Float>.matmul` (allocates and zeroes C, then `cblas_sgemm`) and of `cblas_sgemm` on
/// preallocated buffers (called literally here, not through `Tensors`, on the threads `BLASRuntime`'s policy gives
/// the same product: one below 4 GFLOP, all cores above), so the wrapper's overhead is the difference. Shapes: 2048³ and two
/// Stable Diffusion 1.x shapes (CLIP tokens × width · width × MLP, and 1280×768 · 768×1280, the
/// cross-attention K/V projection sizes). Also `dgemm` at 2048³ and the Float64 Cholesky
/// (`CholeskyFactor`: finite check, `dpotrf`, `dpocon`) of a 768×768 SPD matrix in milliseconds.
enum LinearAlgebraBench {
    static let runs = 5
    static let sgemmShapes: [(m: Int, k: Int, n: Int)] = [(2048, 2048, 2048), (77, 768, 3072), (1280, 768, 1280)]

    static let suite = BenchSuite(name: "sgemm") {
        var figures: [String: Any] = [
            "openblas_threads": Int(openblas_get_num_threads()),
            // The kernel set OpenBLAS picked: "Prescott" (SSE3) on a CPU it does not recognise is ~4× slower
            // than "SkylakeX"/"Haswell"; `BLASRuntime.start` (main.swift) sets OPENBLAS_CORETYPE and re-executes then.
            "openblas_core": openblas_get_corename().map { String(cString: $0) } ?? "unknown",
            "runs": runs,
        ]
        for shape in sgemmShapes {
            figures["sgemm \(shape.m)x\(shape.k) · \(shape.k)x\(shape.n)"] = gemmFigures(shape, direct: directSgemm)
        }
        figures["dgemm 2048x2048 · 2048x2048"] = gemmFigures((2048, 2048, 2048), direct: directDgemm)
        figures["cholesky f64 768x768 ms"] = choleskyMilliseconds(order: 768)
        return figures
    }

    /// Deterministic pseudo-random entries in [−1, 1) (an LCG: the values do not matter, only the sizes).
    static func values<S: BLASScalar>(_ count: Int, seed: UInt64) -> [S] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return S(Double(state >> 11) * 0x1p-52 - 1)
        }
    }

    /// Row-major `C ← A·B` called straight through CBLAS, for the reference figure.
    typealias DirectGemm<S> = (_ m: Int, _ k: Int, _ n: Int, UnsafePointer<S>, UnsafePointer<S>, UnsafeMutablePointer<S>) -> Void

    static func directSgemm(_ m: Int, _ k: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        BLASRuntime.threads(forFlops: 2 * Double(m) * Double(n) * Double(k))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(k), b, blasint(n), 0, c, blasint(n))
    }

    static func directDgemm(_ m: Int, _ k: Int, _ n: Int, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>) {
        BLASRuntime.threads(forFlops: 2 * Double(m) * Double(n) * Double(k))
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(k), b, blasint(n), 0, c, blasint(n))
    }

    static func gemmFigures<S: BLASScalar>(_ shape: (m: Int, k: Int, n: Int), direct: DirectGemm<S>) -> [String: Double] {
        let (m, k, n) = shape
        let a = Matrix<S>(rows: m, cols: k, storage: values(m * k, seed: 1))
        let b = Matrix<S>(rows: k, cols: n, storage: values(k * n, seed: 2))
        let flops = 2 * Double(m) * Double(n) * Double(k)

        var checksum = 0.0
        _ = Matrix.matmul(a, b)  // warm-up: OpenBLAS thread start, page faults
        let wrapper = medianSeconds(runs: runs) { checksum += Double(Matrix.matmul(a, b).storage[0]) }

        var c = [S](repeating: 0, count: m * n)
        let raw = a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return Double.nan }
                    direct(m, k, n, pa, pb, pc)
                    return medianSeconds(runs: runs) { direct(m, k, n, pa, pb, pc) }
                }
            }
        }
        FileHandle.standardError.write(Data("bench:   \(S.self) \(m)x\(k)·\(k)x\(n) done (checksum \(checksum))\n".utf8))
        return [
            "matmul_gflops": (flops / wrapper / 1e9).rounded(toPlaces: 1),
            "cblas_gflops": (flops / raw / 1e9).rounded(toPlaces: 1),
            "matmul_ms": (wrapper * 1e3).rounded(toPlaces: 2),
            "cblas_ms": (raw * 1e3).rounded(toPlaces: 2),
        ]
    }

    /// Median milliseconds of `CholeskyFactor` on `G·Gᵀ/n + I` (symmetric positive definite).
    static func choleskyMilliseconds(order n: Int) -> Any {
        let g = Matrix<Double>(rows: n, cols: n, storage: values(n * n, seed: 3))
        var spd = Matrix.matmul(g, g, transposeB: true)
        for i in 0..<n { for j in 0..<n { spd[i, j] = spd[i, j] / Double(n) + (i == j ? 1 : 0) } }
        do {
            _ = try CholeskyFactor(spd)
            var rcond = 0.0
            let seconds = try medianSeconds(runs: runs) { rcond = try CholeskyFactor(spd).reciprocalCondition }
            return ["ms": (seconds * 1e3).rounded(toPlaces: 2), "rcond": rcond]
        } catch {
            return ["error": String(describing: error)]
        }
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        let scale = Foundation.pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
