import Foundation
import TensorFormats
import Tensors

/// Which hidden state `CLIPTextModel.encode` returns (always passed through the final layer norm).
public enum HiddenLayer: Sendable, Equatable {
    /// The last layer's output: transformers' `last_hidden_state` (SD 1.x prompt embeddings).
    case last
    /// The second-to-last layer's output, then the final layer norm (OpenCLIP "penultimate"; diffusers'
    /// `clip_skip = 1`: `final_layer_norm(hidden_states[-2])`). SD 2.x diffusers folders already drop the last of
    /// OpenCLIP's 24 layers, so `.last` is what SD 2 pipelines use on them.
    case penultimate
    /// `hidden_states[k]`: the output of the first `k` layers (0 = embeddings), then the final layer norm.
    case layer(Int)
}

/// One caption's outputs.
public struct CLIPTextOutput: Sendable {
    /// `n × d` hidden states of the requested layer after the final layer norm.
    public let hidden: Matrix<Float>
    /// The last layer's (final-normed) state at the pooling position (first EOS; argmax of the ids for legacy
    /// configs with `eos_token_id == 2`).
    public let pooled: [Float]
    /// `text_projection · pooled` (transformers' `text_embeds`), when the weights hold a projection.
    public let projection: [Float]?
    /// `projection / ‖projection‖₂`: the L2-normalised CLIP text embedding.
    public let embedding: [Float]?
}

/// CLIP's text transformer (`CLIPTextModel` / `CLIPTextModelWithProjection` in transformers), Float32 over BLAS.
///
/// Notation: `d` = hidden size, `h` = heads, `d_h = d / h`, `I` = MLP width, `n` = tokens of a caption.
/// `x⁰ = E_tok[ids] + E_pos[0..<n]`; each pre-LN layer ℓ:
/// `x ← x + W_o · Attn(LN₁(x)) + b_o`, `Attn = softmax(Q Kᵀ · d_h^{-1/2} + causal mask) V` per head,
/// `x ← x + W₂ act(W₁ LN₂(x) + b₁) + b₂`; outputs go through the final layer norm.
///
/// Immutable after init (`Sendable`): all weights are `let` arrays.
public final class CLIPTextModel: Sendable {
    struct Layer: Sendable {
        let norm1Weight: [Float], norm1Bias: [Float]
        /// `[W_q; W_k; W_v]` (`3d × d`, row-major, as Linear weights `out × in`) and `[b_q; b_k; b_v]`.
        let qkvWeight: PackedLinearWeight, qkvBias: [Float]
        let outWeight: PackedLinearWeight, outBias: [Float]
        let norm2Weight: [Float], norm2Bias: [Float]
        let fc1Weight: PackedLinearWeight, fc1Bias: [Float]
        let fc2Weight: PackedLinearWeight, fc2Bias: [Float]
    }

    public let configuration: CLIPTextConfiguration
    /// `vocab × d` token embeddings (maybe fp16, maybe only some rows) and `maxPositions × d` position embeddings.
    let tokenEmbedding: TokenEmbeddingTable
    let positionEmbedding: [Float]
    let layers: [Layer]
    let finalNormWeight: [Float], finalNormBias: [Float]
    /// `projectionDim × d` (`text_projection.weight`, no bias), if present.
    let textProjection: PackedLinearWeight?

    /// Whether the weights hold `text_projection` (a `CLIPTextModelWithProjection`).
    public var hasProjection: Bool { textProjection != nil }

    /// The model from tensors named as in Hugging Face files (`text_model.embeddings.token_embedding.weight`,
    /// `text_projection.weight`) or as in CompVis checkpoints (`cond_stage_model.transformer.text_model.…`, or the
    /// older `cond_stage_model.transformer.…` without `text_model.`). Other tensors are ignored.
    public convenience init(configuration: CLIPTextConfiguration, weights: [String: RawTensor]) throws {
        try self.init(configuration: configuration, tensorNames: Set(weights.keys), tokenIDs: nil) { weights[$0] }
    }

    /// The model from tensors fetched one at a time by `tensor` (a name from `tensorNames`; nil when
    /// absent), each released once packed, so a caller that decompresses them on demand holds one
    /// unpacked tensor at a time. fp16 linear weights stay fp16. `tokenIDs`: keep only these rows of
    /// the token embedding matrix (encoding other vocabulary ids then throws `tokenNotLoaded`).
    public init(configuration: CLIPTextConfiguration, tensorNames: Set<String>, tokenIDs: Set<Int32>?,
                tensor fetch: (String) throws -> RawTensor?) throws {
        try configuration.validate()
        let c = configuration
        let names = try WeightNames(weights: Dictionary(uniqueKeysWithValues: tensorNames.map { ($0, ()) }))
        let d = c.hiddenSize
        func tensor(_ name: String, _ shape: [Int]) throws -> RawTensor {
            guard let found = try fetch(name) else { throw TextEncoderError.missingTensor(name: name) }
            return try Self.tensor([name: found], name, shape: shape)
        }
        func load(_ name: String, _ shape: [Int]) throws -> [Float] {
            try tensor(names.full(name), shape).floats()
        }
        /// Linear weights stacked along the outputs (`[W_q; W_k; W_v]`), each `outputs × inputs`; fp16 stays fp16.
        func linear(_ parts: [String], outputs: Int, inputs: Int) throws -> PackedLinearWeight {
            let tensors = try parts.map { try tensor(names.full($0), [outputs, inputs]) }
            let stacked = [outputs * parts.count, inputs]
            if tensors.count == 1 { return try PackedLinearWeight(tensor: tensors[0], outputs: stacked[0], inputs: inputs) }
            guard tensors.allSatisfy({ $0.dtype == .float16 }) else {
                return PackedLinearWeight(try tensors.flatMap { try $0.floats() }, outputs: stacked[0], inputs: inputs)
            }
            let bytes = ByteBuffer(unsafeUninitializedCount: tensors.reduce(0) { $0 + $1.byteCount }) { out in
                var offset = 0
                for tensor in tensors {
                    tensor.bytes.withUnsafeBytes { out.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    offset += tensor.byteCount
                }
            }
            return try PackedLinearWeight(tensor: RawTensor(dtype: .float16, shape: stacked, bytes: bytes), outputs: stacked[0], inputs: inputs)
        }
        tokenEmbedding = try TokenEmbeddingTable(tensor(names.full("embeddings.token_embedding.weight"), [c.vocabSize, d]),
                                                 vocabularySize: c.vocabSize, width: d, ids: tokenIDs)
        positionEmbedding = try load("embeddings.position_embedding.weight", [c.maxPositions, d])
        layers = try (0..<c.numLayers).map { i in
            let p = "encoder.layers.\(i)."
            let qkvBias = try ["q", "k", "v"].flatMap { try load(p + "self_attn.\($0)_proj.bias", [d]) }
            return Layer(
                norm1Weight: try load(p + "layer_norm1.weight", [d]), norm1Bias: try load(p + "layer_norm1.bias", [d]),
                qkvWeight: try linear(["q", "k", "v"].map { p + "self_attn.\($0)_proj.weight" }, outputs: d, inputs: d), qkvBias: qkvBias,
                outWeight: try linear([p + "self_attn.out_proj.weight"], outputs: d, inputs: d), outBias: try load(p + "self_attn.out_proj.bias", [d]),
                norm2Weight: try load(p + "layer_norm2.weight", [d]), norm2Bias: try load(p + "layer_norm2.bias", [d]),
                fc1Weight: try linear([p + "mlp.fc1.weight"], outputs: c.intermediateSize, inputs: d), fc1Bias: try load(p + "mlp.fc1.bias", [c.intermediateSize]),
                fc2Weight: try linear([p + "mlp.fc2.weight"], outputs: d, inputs: c.intermediateSize), fc2Bias: try load(p + "mlp.fc2.bias", [d]))
        }
        finalNormWeight = try load("final_layer_norm.weight", [d])
        finalNormBias = try load("final_layer_norm.bias", [d])
        if tensorNames.contains(WeightNames.projection) {
            textProjection = try PackedLinearWeight(tensor: tensor(WeightNames.projection, [c.projectionDim, d]),
                                                    outputs: c.projectionDim, inputs: d)
        } else {
            textProjection = nil
        }
        self.configuration = c
    }

    /// The model of a tensor archive (safetensors or torch checkpoint), see `init(configuration:weights:)`.
    public convenience init(configuration: CLIPTextConfiguration, archive: TensorArchive) throws {
        try self.init(configuration: configuration, weights: archive.byName)
    }

    /// A diffusers / transformers `text_encoder/` folder, or a full `CLIPModel` folder (its text tower and
    /// `text_projection` are used, vision weights ignored): `config.json` plus `model.safetensors` (or
    /// `model.fp16.safetensors`, a sharded `model.safetensors.index.json`, or a torch `pytorch_model.bin`).
    public static func load(directory: URL) throws -> CLIPTextModel {
        let configuration = try CLIPTextConfiguration.read(directory.appendingPathComponent("config.json"))
        let fm = FileManager.default
        for name in ["model.safetensors", "model.fp16.safetensors"] {
            let path = directory.appendingPathComponent(name).path
            if fm.fileExists(atPath: path) {
                return try CLIPTextModel(configuration: configuration, archive: Safetensors.read(path: path))
            }
        }
        for name in ["model.safetensors.index.json", "model.fp16.safetensors.index.json"] {
            let path = directory.appendingPathComponent(name).path
            if fm.fileExists(atPath: path) {
                return try CLIPTextModel(configuration: configuration, archive: Safetensors.readSharded(indexPath: path))
            }
        }
        let torchPath = directory.appendingPathComponent("pytorch_model.bin").path
        if fm.fileExists(atPath: torchPath) {
            return try CLIPTextModel(configuration: configuration, archive: TensorFile.read(path: torchPath))
        }
        throw TextEncoderError.noWeightsFile(directory: directory.path)
    }

    static func floats(_ weights: [String: RawTensor], _ name: String, shape: [Int]) throws -> [Float] {
        try tensor(weights, name, shape: shape).floats()
    }

    /// The tensor `name`, checked to exist, have `shape` and a floating-point dtype.
    static func tensor(_ weights: [String: RawTensor], _ name: String, shape: [Int]) throws -> RawTensor {
        guard let tensor = weights[name] else { throw TextEncoderError.missingTensor(name: name) }
        guard tensor.shape == shape else { throw TextEncoderError.shapeMismatch(name: name, expected: shape, actual: tensor.shape) }
        guard tensor.dtype.isFloatingPoint else { throw TextEncoderError.notFloatingPoint(name: name, dtype: tensor.dtype.rawValue) }
        return tensor
    }
}
