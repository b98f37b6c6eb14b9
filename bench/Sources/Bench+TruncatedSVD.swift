import CLAPACKE
import CustomDiffusion
import Foundation
import TensorFormats
import Tensors

/// Suite `svd`: the truncated SVD behind `register`'s default policy (`error:0.05`), method against
/// method, on the 32 K/V deltas of an SD1.x concept (`bench/out/sd1-concepts/dog-deltas.safetensors`
/// from `bench/generate_sd1_bench.py`, else the `compression` suite's synthetic ones): h ∈ {320, 640,
/// 1280} × 768. For each method: seconds for all 32 (median of 3), mean rank chosen by the error rule,
/// and the worst relative error of the rank-r truncation it found (ε(r) ≤ 0.05 is the rule).
///
/// - `delta_compressor`: `DeltaCompressor.compress(…, policy: error:0.05)` as `register` runs it (the
///   randomized range finder, width 48 doubled as needed, q = 2, plus fp16 factors and the measured error).
/// - `sgesdd` / `dgesdd`: LAPACK's divide-and-conquer thin SVD of the whole matrix (Float32 / Float64).
/// - `sgesvdx`: LAPACK's bisection/inverse-iteration SVD of the leading 48 triplets only (`range = 'I'`).
/// Rank rule for the LAPACK methods: the smallest r with Σ_{i≥r} σᵢ² ≤ 0.05² ‖ΔW‖²_F (exact spectrum;
/// for `sgesvdx`, using ‖ΔW‖²_F minus the 48 leading σ² for the rest).
enum TruncatedSVDBench {
    static let suite = BenchSuite(name: "svd") {
        let path = SD1BenchStore.inputs.appendingPathComponent("sd1-concepts/dog-deltas.safetensors").path
        let deltas: [Matrix<Float>]
        var source = "synthetic"
        if FileManager.default.fileExists(atPath: path) {
            deltas = try Safetensors.read(path: path).tensors.map { Matrix<Float>(rows: $0.tensor.shape[0], cols: $0.tensor.shape[1], storage: try $0.tensor.floats()) }
            source = "dog-deltas.safetensors"
        } else {
            deltas = CompressionBench.shapes.enumerated().map { CompressionBench.makeDelta(rows: $0.element, cols: CompressionBench.d, seed: UInt64($0.offset + 1)) }
        }
        var figures: [String: Any] = ["matrices": deltas.count, "source": source,
                                      "shapes": Dictionary(deltas.map { ("\($0.rows)x\($0.cols)", 1) }, uniquingKeysWith: +)]
        let policy = try CompressionPolicy(parsing: "error:0.05")
        var ranks: [Int] = [], errors: [Double] = []
        let compressor = try medianSeconds(runs: 3) {
            let results = try deltas.map { try DeltaCompressor.compress($0, policy: policy) }
            ranks = results.map(\.rank)
            errors = results.map(\.relativeError)
        }
        figures["delta_compressor"] = summary(compressor, ranks, errors)
        for method in ["sgesdd", "dgesdd", "sgesvdx"] {
            var ranks: [Int] = [], errors: [Double] = []
            let seconds = try medianSeconds(runs: 3) {
                ranks = []; errors = []
                for delta in deltas {
                    let (rank, error) = try rankByErrorRule(delta, method: method)
                    ranks.append(rank); errors.append(error)
                }
            }
            figures[method] = summary(seconds, ranks, errors)
        }
        return figures
    }

    static func summary(_ seconds: Double, _ ranks: [Int], _ errors: [Double]) -> [String: Any] {
        ["seconds": seconds, "mean_rank": Double(ranks.reduce(0, +)) / Double(max(1, ranks.count)), "max_relative_error": errors.max() ?? 0]
    }

    struct Failure: Error { let routine: String; let info: Int32 }

    /// Singular values by `method`, then the error rule's rank and its ε(r).
    static func rankByErrorRule(_ delta: Matrix<Float>, method: String) throws -> (Int, Double) {
        let m = delta.rows, n = delta.cols, k = min(m, n)
        let norm2 = delta.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
        var sigma: [Double]
        switch method {
        case "dgesdd":
            var a = delta.storage.map(Double.init)
            var s = [Double](repeating: 0, count: k), u = [Double](repeating: 0, count: m * k), vt = [Double](repeating: 0, count: k * n)
            let info = LAPACKE_dgesdd(Int32(LAPACK_ROW_MAJOR), CChar(UInt8(ascii: "S")), Int32(m), Int32(n), &a, Int32(n), &s, &u, Int32(k), &vt, Int32(n))
            guard info == 0 else { throw Failure(routine: method, info: info) }
            sigma = s
        case "sgesdd":
            var a = delta.storage
            var s = [Float](repeating: 0, count: k), u = [Float](repeating: 0, count: m * k), vt = [Float](repeating: 0, count: k * n)
            let info = LAPACKE_sgesdd(Int32(LAPACK_ROW_MAJOR), CChar(UInt8(ascii: "S")), Int32(m), Int32(n), &a, Int32(n), &s, &u, Int32(k), &vt, Int32(n))
            guard info == 0 else { throw Failure(routine: method, info: info) }
            sigma = s.map(Double.init)
        default:  // sgesvdx, the 48 leading triplets
            let want = min(48, k)
            var a = delta.storage
            var found: Int32 = 0
            var s = [Float](repeating: 0, count: k), u = [Float](repeating: 0, count: m * want), vt = [Float](repeating: 0, count: want * n)
            var superb = [Int32](repeating: 0, count: 12 * k)
            let info = LAPACKE_sgesvdx(Int32(LAPACK_ROW_MAJOR), CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "I")),
                                       Int32(m), Int32(n), &a, Int32(n), 0, 0, 1, Int32(want), &found, &s, &u, Int32(want), &vt, Int32(n), &superb)
            guard info == 0 else { throw Failure(routine: method, info: info) }
            sigma = s.prefix(Int(found)).map(Double.init)
        }
        let allowed = 0.05 * 0.05 * norm2
        var residual = norm2, rank = 0
        while rank < sigma.count, residual > allowed { residual -= sigma[rank] * sigma[rank]; rank += 1 }
        return (rank, (max(0, residual) / norm2).squareRoot())
    }
}
