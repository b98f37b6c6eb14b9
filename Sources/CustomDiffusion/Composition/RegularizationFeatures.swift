import Foundation
import TextEncoder

/// Text features of regularization captions and their Gram matrix: `Creg` and `Σ = Cregᵀ Creg` of
/// Kumari et al., CVPR 2023, §3.2, Eq. 4–5 (docs/METHOD.md §2), as `get_text_embedding` in the
/// original `src/diffusers_composenW.py` computes them.
///
/// *Text features* of a caption are the base text encoder's last hidden state after the final
/// layer norm at token positions 1 … EOS inclusive (BOS skipped); when the caption's first 15
/// characters contain `photo of a`, positions 0…3 (BOS, `photo`, `of`, `a`) are skipped instead
/// (the original Custom Diffusion code's `'photo of a' in prompt[:15]`). Captions are encoded
/// without padding (the encoder is causal) and truncated to 77 tokens as transformers does.
///
/// `Σ = Cregᵀ Creg` (d × d) is accumulated in Float64 from the stacked feature rows `Creg` (r × d).
public enum RegularizationFeatures {
    /// The first feature position of `caption` (1, or 4 after a `photo of a` start).
    public static func firstPosition(of caption: String) -> Int {
        caption.prefix(15).contains("photo of a") ? 4 : 1
    }

    /// The feature rows (positions first…EOS) of every caption, stacked: `Creg` (r × d), Float32.
    public static func features(of captions: [String], tokenizer: CLIPTokenizer, model: CLIPTextModel, batchSize: Int = 32) throws -> Matrix<Float> {
        let d = model.configuration.hiddenSize
        var storage: [Float] = []
        var rows = 0
        for start in stride(from: 0, to: captions.count, by: batchSize) {
            let chunk = Array(captions[start..<min(start + batchSize, captions.count)])
            let ids = chunk.map { tokenizer.encode($0, maxLength: model.configuration.maxPositions) }
            let outputs = try model.encode(ids)
            for (k, output) in outputs.enumerated() {
                let eos = ids[k].count - 1  // encode() ends every sequence with EOS
                let first = firstPosition(of: chunk[k])
                guard first <= eos else { continue }
                for position in first...eos {
                    storage += output.hidden.storage[(position * d)..<((position + 1) * d)]
                    rows += 1
                }
            }
        }
        return Matrix(rows: rows, cols: d, storage: storage)
    }

    /// `Σ = Cregᵀ Creg` in Float64 and the number of rows of `Creg`.
    public static func gram(of captions: [String], tokenizer: CLIPTokenizer, model: CLIPTextModel) throws -> (sigma: Matrix<Double>, rows: Int) {
        let features = try features(of: captions, tokenizer: tokenizer, model: model)
        guard features.rows > 0 else { return (Matrix<Double>(zeros: features.cols, features.cols), 0) }
        return (features.asDouble.gram, features.rows)
    }
}
