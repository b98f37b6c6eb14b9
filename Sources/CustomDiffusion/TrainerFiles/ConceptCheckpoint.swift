import Foundation

/// The output of one Custom Diffusion fine-tune, whatever file layout it came in (docs/STORAGE.md §4):
/// per layer either the full fine-tuned weight `W′` or a low-rank delta `ΔW = up·down`, and the
/// learned embedding of each modifier token: what Kumari et al., CVPR 2023, §3.1 fine-tunes (`Wk`, `Wv`
/// of every cross-attention layer and the modifier token `V*`), as the original's
/// `CustomDiffusionPipeline.save_pretrained` (`src/diffusers_model_pipeline.py`) writes it (docs/METHOD.md §6).
public struct ConceptCheckpoint: Sendable {
    /// The layouts met in the wild.
    public enum Format: String, Sendable, Codable {
        /// diffusers `train_custom_diffusion.py` output folder (`pytorch_custom_diffusion_weights.*` + `<token>.*`).
        case diffusers
        /// adobe `delta.bin` with full weights.
        case adobe
        /// adobe `delta.bin` after `compress.py` (`{'u': U·S, 'v': Vᵀ}` per layer).
        case adobeCompressed = "adobe-compressed"
        /// CompVis `delta*.ckpt` with full weights.
        case compvis
        /// CompVis `compressed_delta*.ckpt` (`compress.py` without `--diffuser`).
        case compvisCompressed = "compvis-compressed"
    }

    /// One K/V weight as stored.
    public enum Weight: Sendable {
        /// The fine-tuned weight `W′` (`h × d`).
        case full(Matrix<Float>)
        /// The change `ΔW = up · down` (`h × r` times `r × d`; `r` may be 0).
        case delta(up: Matrix<Float>, down: Matrix<Float>)

        /// `[h, d]` for full weights; `[h, d]` of the product for deltas.
        public var shape: [Int] {
            switch self {
            case .full(let w): [w.rows, w.cols]
            case .delta(let up, let down): [up.rows, down.cols]
            }
        }

        /// `ΔW` given the base weight `W0` (`W′ − W0` in Float32, or `up · down`).
        public func delta(base: Matrix<Float>) throws -> Matrix<Float> {
            switch self {
            case .full(let w):
                guard w.rows == base.rows, w.cols == base.cols else {
                    throw ConceptError.shapeMismatch("fine-tuned weight \(w.rows)×\(w.cols), base \(base.rows)×\(base.cols)")
                }
                return w - base
            case .delta(let up, let down):
                guard up.rows == base.rows, down.cols == base.cols, up.cols == down.rows else {
                    throw ConceptError.shapeMismatch("delta factors \(up.rows)×\(up.cols) · \(down.rows)×\(down.cols), base \(base.rows)×\(base.cols)")
                }
                return Matrix.matmul(up, down)
            }
        }
    }

    /// A modifier token and its learned input embedding (`d` values).
    public struct Token: Sendable, Equatable {
        public var name: String
        public var embedding: [Float]
        public init(name: String, embedding: [Float]) {
            self.name = name
            self.embedding = embedding
        }
    }

    public var format: Format
    /// The K/V weights by layer (diffusers names).
    public var weights: [LayerKey: Weight]
    /// Modifier tokens in file order (`<new1>`, `<new2>`, … for joint outputs).
    public var tokens: [Token]
    /// The files the checkpoint was read from.
    public var sourceFiles: [URL]
    /// Tensors present but not used (attn2 `to_q`/`to_out` of `crossattn` fine-tunes, text encoder weights…).
    public var ignoredTensors: [String]

    public init(format: Format, weights: [LayerKey: Weight], tokens: [Token], sourceFiles: [URL], ignoredTensors: [String] = []) {
        self.format = format
        self.weights = weights
        self.tokens = tokens
        self.sourceFiles = sourceFiles
        self.ignoredTensors = ignoredTensors
    }

    /// The weights in network order.
    public var sortedWeights: [(key: LayerKey, weight: Weight)] {
        weights.keys.sorted().map { ($0, weights[$0]!) }
    }
}
