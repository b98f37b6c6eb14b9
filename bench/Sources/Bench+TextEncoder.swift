import Foundation
import Tensors
import TextEncoder

/// `textEncoder`: CLIP ViT-L/14 text tower (d 768, 12 layers, 12 heads, MLP 3072, vocab 49408, quick_gelu) with
/// random weights built in memory. Captions of 10–20 tokens (seeded lengths, as in `bench/clip_torch.py`) one at a
/// time and 16 per call (rows concatenated, no padding), and 77-token captions one at a time and 4 per call.
/// Compare with `python3 bench/clip_torch.py` (PyTorch CPU, 2 threads) on the same machine. `linear_layers` times the
/// encoder's linear layers alone: our packed kernel (`PackedLinearWeight`, on the suite's `kernel_path`: AVX-512, or
/// AVX2 with `CONCEPTS_KERNELS=avx2`) next to OpenBLAS `sgemm` (one BLAS thread below 4 GFLOP, `BLASRuntime`).
/// `fp16_weights`: the same captions with the weights stored as fp16 (the values of `model.fp16.safetensors`, kept
/// fp16 in memory and widened in registers: same Float32 arithmetic, half the weight traffic).
enum TextEncoderBench {
    static let suite = BenchSuite(name: "textEncoder") {
        let config = try CLIPTextConfiguration(hiddenSize: 768, intermediateSize: 3072, projectionDim: 768, numLayers: 12, numHeads: 12)
        var rng = SplitMix64(seed: 4)
        func random(_ shape: [Int], scale: Float = 0.02, offset: Float = 0) throws -> RawTensor {
            let count = shape.reduce(1, *)
            return try RawTensor.from(floats: (0..<count).map { _ in offset + scale * rng.nextSymmetric() }, shape: shape)
        }
        let d = config.hiddenSize, m = config.intermediateSize
        var weights: [String: RawTensor] = [
            "text_model.embeddings.token_embedding.weight": try random([config.vocabSize, d]),
            "text_model.embeddings.position_embedding.weight": try random([config.maxPositions, d]),
            "text_model.final_layer_norm.weight": try random([d], scale: 0.1, offset: 1),
            "text_model.final_layer_norm.bias": try random([d]),
            "text_projection.weight": try random([config.projectionDim, d]),
        ]
        for i in 0..<config.numLayers {
            let p = "text_model.encoder.layers.\(i)."
            for proj in ["q", "k", "v", "out"] {
                weights[p + "self_attn.\(proj)_proj.weight"] = try random([d, d])
                weights[p + "self_attn.\(proj)_proj.bias"] = try random([d])
            }
            for norm in ["layer_norm1", "layer_norm2"] {
                weights[p + norm + ".weight"] = try random([d], scale: 0.1, offset: 1)
                weights[p + norm + ".bias"] = try random([d])
            }
            weights[p + "mlp.fc1.weight"] = try random([m, d])
            weights[p + "mlp.fc1.bias"] = try random([m])
            weights[p + "mlp.fc2.weight"] = try random([d, m])
            weights[p + "mlp.fc2.bias"] = try random([d])
        }
        var built: CLIPTextModel?
        let loadSeconds = try measureSeconds { built = try CLIPTextModel(configuration: config, weights: weights) }
        guard let model = built else { throw CocoaError(.coderInvalidValue) }
        // The same weights stored as fp16 (as in `model.fp16.safetensors`): kept fp16 by the packed kernel.
        let halfModel = try CLIPTextModel(configuration: config, weights: try weights.mapValues {
            try RawTensor.from(floats: try $0.floats(), shape: $0.shape, as: .float16)
        })
        weights.removeAll()

        func caption(_ n: Int) -> [Int32] {
            [49406] + (0..<(n - 2)).map { _ in Int32(rng.next() % 49000) + 1 } + [49407]
        }
        let short = (0..<32).map { _ in caption(10 + Int(rng.next() % 11)) }
        let full = (0..<8).map { _ in caption(77) }
        _ = try model.encode([full[0]])  // warm-up

        /// Median seconds per caption over 3 runs, encoding `captions` in calls of `batch`, and the process CPU
        /// seconds per caption over those runs (steadier than wall time when the machine is shared).
        var cpuPerCaption: [String: Double] = [:]
        func perCaption(_ captions: [[Int32]], batch: Int, label: String, model: CLIPTextModel = model) throws -> Double {
            let cpuBefore = processCPUSeconds()
            let seconds = try medianSeconds(runs: 3) {
                for start in stride(from: 0, to: captions.count, by: batch) {
                    _ = try model.encode(Array(captions[start..<min(start + batch, captions.count)]))
                }
            }
            cpuPerCaption["cpu_ms_per_caption_" + label] = (processCPUSeconds() - cpuBefore) / Double(3 * captions.count) * 1e3
            return seconds / Double(captions.count)
        }
        let shortBatch1 = try perCaption(short, batch: 1, label: "short_batch1")
        let shortBatch16 = try perCaption(short, batch: 16, label: "short_batch16")
        let fullBatch1 = try perCaption(full, batch: 1, label: "77_batch1")
        let fullBatch4 = try perCaption(full, batch: 4, label: "77_batch4")
        _ = try halfModel.encode([full[0]])  // warm-up
        let halfFigures: [String: Double] = [
            "ms_per_caption_short_batch1": try perCaption(short, batch: 1, label: "fp16_short_batch1", model: halfModel) * 1e3,
            "ms_per_caption_short_batch16": try perCaption(short, batch: 16, label: "fp16_short_batch16", model: halfModel) * 1e3,
            "ms_per_caption_77_batch1": try perCaption(full, batch: 1, label: "fp16_77_batch1", model: halfModel) * 1e3,
            "ms_per_caption_77_batch4": try perCaption(full, batch: 4, label: "fp16_77_batch4", model: halfModel) * 1e3,
        ]
        return [
            "linear_layers": try linearFigures(),
            "model_build_ms": loadSeconds * 1e3,
            "fp16_weights": halfFigures,
            "short_captions_mean_tokens": Double(short.map(\.count).reduce(0, +)) / Double(short.count),
            "ms_per_caption_short_batch1": shortBatch1 * 1e3,
            "ms_per_caption_short_batch16": shortBatch16 * 1e3,
            "ms_per_caption_77_batch1": fullBatch1 * 1e3,
            "ms_per_caption_77_batch4": fullBatch4 * 1e3,
            "captions_per_second_short_batch16": 1 / shortBatch16,
            "captions_per_second_77_batch4": 1 / fullBatch4,
        ].merging(cpuPerCaption) { a, _ in a }
    }
}

extension TextEncoderBench {
    /// The encoder's linear layers alone (`y = x·Wᵀ + b`, ViT-L/14 shapes) for caption-sized row counts: the packed
    /// kernel (`PackedLinearWeight`) against `sgemm` on the row-major weight, best of 15 calls each, GFLOP/s.
    static func linearFigures() throws -> [String: Any] {
        var rng = SplitMix64(seed: 11)
        var figures: [String: Any] = ["packed_kernel_available": PackedLinearWeight.kernelAvailable]
        for (inputs, outputs) in [(768, 2304), (768, 3072), (3072, 768)] {
            let weight = (0..<(inputs * outputs)).map { _ in 0.02 * rng.nextSymmetric() }
            let bias = [Float](repeating: 0.01, count: outputs)
            let packed = PackedLinearWeight(weight, outputs: outputs, inputs: inputs)
            for rows in [15, 77, 154] {
                let x = (0..<(rows * inputs)).map { _ in rng.nextSymmetric() }
                var y = [Float](repeating: 0, count: rows * outputs)
                func best(_ body: () -> Void) -> Double {
                    body()
                    return (0..<15).map { _ in measureSeconds(body) }.min()!
                }
                let packedSeconds = best {
                    x.withUnsafeBufferPointer { px in bias.withUnsafeBufferPointer { pb in y.withUnsafeMutableBufferPointer { py in
                        packed.apply(px.baseAddress!, rows: rows, bias: pb.baseAddress!, into: py.baseAddress!, accumulate: false)
                    } } }
                }
                let sgemmSeconds = best {
                    x.withUnsafeBufferPointer { px in weight.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
                        Float.gemm(transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs, alpha: 1, a: px.baseAddress!, lda: inputs,
                                   b: pw.baseAddress!, ldb: inputs, beta: 0, c: py.baseAddress!, ldc: outputs)
                    } } }
                }
                let flops = 2.0 * Double(rows * inputs * outputs)
                figures["\(rows)x\(inputs)->\(outputs)"] = [
                    "packed_ms": packedSeconds * 1e3, "sgemm_ms": sgemmSeconds * 1e3,
                    "packed_gflops": flops / packedSeconds / 1e9, "sgemm_gflops": flops / sgemmSeconds / 1e9,
                ]
            }
        }
        return figures
    }
}

extension SplitMix64 {
    /// Uniform in [−1, 1).
    mutating func nextSymmetric() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
