import CustomDiffusion
import Foundation
import TensorFormats
import Tensors

/// Suite `compression`: `DeltaCompressor` on the 32 K/V deltas of an SD1.x concept
/// (h ∈ {320 ×10, 640 ×10, 1280 ×12} × d = 768), per policy: wall-clock seconds for all 32 (median of
/// 3 runs), stored bytes (raw tensor bytes before zstd), mean rank and the worst measured relative error.
///
/// The deltas have a realistic spectrum: a rank-16 part with σ falling like 1/i plus a full-rank tail
/// whose scale decays like exp(−i/60) (15 % of the energy-weighted size of the low-rank part), built
/// from seeded Gaussian factors. They are also written to `bench/out/compression-deltas.safetensors`
/// so that `bench/compress_torch.py` times torch's SVD on the very same matrices.
enum CompressionBench {
    static let shapes: [Int] = Array(repeating: 320, count: 10) + Array(repeating: 640, count: 10) + Array(repeating: 1280, count: 12)
    static let d = 768
    static let policies = ["lossless", "fp16", "energy:0.6", "rank:8", "error:0.05"]

    static let suite = BenchSuite(name: "compression") {
        let deltas = shapes.enumerated().map { makeDelta(rows: $0.element, cols: d, seed: UInt64($0.offset + 1)) }
        try? writeDeltas(deltas)
        var figures: [String: Any] = ["matrices": deltas.count, "default_policy": CompressionPolicy.default.description,
                                      "dense_f32_bytes": deltas.reduce(0) { $0 + 4 * $1.rows * $1.cols }]
        for text in policies + ["default"] {
            let policy = text == "default" ? CompressionPolicy.default : try CompressionPolicy(parsing: text)
            var results: [CompressedDelta] = []
            let seconds = try medianSeconds(runs: 3) {
                results = try deltas.map { try DeltaCompressor.compress($0, policy: policy) }
            }
            figures[text] = [
                "seconds": seconds,
                "stored_bytes": results.reduce(0) { $0 + $1.storedBytes },
                "mean_rank": Double(results.reduce(0) { $0 + $1.rank }) / Double(results.count),
                "max_relative_error": results.map(\.relativeError).max() ?? 0,
            ] as [String: Any]
        }
        return figures
    }

    /// `ΔW = G₁·diag(s)·G₂ / scale`: Gaussian `G₁` (`h × k`) and `G₂` (`k × d`), `k = min(h, d)`,
    /// `s_i = 1/(i+1)` for `i < 16`, else `0.15·exp(−i/60)/4`.
    static func makeDelta(rows: Int, cols: Int, seed: UInt64) -> Matrix<Float> {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func gaussian() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u1 = (Double(state >> 11) + 0.5) * 0x1p-53
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u2 = Double(state >> 11) * 0x1p-53
            return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
        let k = min(rows, cols)
        var left = Matrix<Float>(rows: rows, cols: k, storage: (0..<(rows * k)).map { _ in gaussian() })
        let right = Matrix<Float>(rows: k, cols: cols, storage: (0..<(k * cols)).map { _ in gaussian() })
        for j in 0..<k {
            let s = Float(j < 16 ? 1 / Double(j + 1) : 0.15 * exp(-Double(j) / 60) / 4) / Float(rows * cols).squareRoot() * 0.02
            for i in 0..<rows { left.storage[i * k + j] *= s }
        }
        return Matrix.matmul(left, right)
    }

    static func writeDeltas(_ deltas: [Matrix<Float>]) throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("out")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tensors = try deltas.enumerated().map { (name: String(format: "delta.%02d", $0.offset), tensor: try $0.element.rawTensor()) }
        try Safetensors.write(tensors, metadata: [:], to: dir.appendingPathComponent("compression-deltas.safetensors").path)
    }
}
