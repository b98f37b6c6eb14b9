import Foundation

/// The Hugging Face `CLIPTextConfig` (`text_encoder/config.json`), with Swift names, transformers' defaults for
/// absent keys, and validation while decoding.
public struct CLIPTextConfiguration: Codable, Sendable, Equatable {
    /// The MLP activation (`hidden_act`).
    public enum Activation: String, Codable, Sendable {
        /// `x · σ(1.702 x)` (OpenAI CLIP, SD 1.x).
        case quickGELU = "quick_gelu"
        /// `x · Φ(x)` with the exact normal CDF (OpenCLIP, SD 2.x).
        case gelu
        /// The tanh approximation `0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))`.
        case geluNew = "gelu_new"
        case geluTanh = "gelu_pytorch_tanh"
    }

    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var projectionDim: Int
    public var numLayers: Int
    public var numHeads: Int
    public var maxPositions: Int
    public var activation: Activation
    public var layerNormEps: Float
    public var bosTokenID: Int
    /// 2 in legacy configs (SD 1.x): the pooled output is then taken at the argmax of the ids (transformers).
    public var eosTokenID: Int
    public var padTokenID: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case projectionDim = "projection_dim"
        case numLayers = "num_hidden_layers"
        case numHeads = "num_attention_heads"
        case maxPositions = "max_position_embeddings"
        case activation = "hidden_act"
        case layerNormEps = "layer_norm_eps"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
        case padTokenID = "pad_token_id"
    }

    /// A validated configuration; defaults are transformers' `CLIPTextConfig` defaults.
    public init(vocabSize: Int = 49408, hiddenSize: Int = 512, intermediateSize: Int = 2048, projectionDim: Int = 512,
                numLayers: Int = 12, numHeads: Int = 8, maxPositions: Int = 77, activation: Activation = .quickGELU,
                layerNormEps: Float = 1e-5, bosTokenID: Int = 49406, eosTokenID: Int = 49407, padTokenID: Int = 1) throws {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.projectionDim = projectionDim
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.maxPositions = maxPositions
        self.activation = activation
        self.layerNormEps = layerNormEps
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.padTokenID = padTokenID
        try validate()
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let actName = try c.decodeIfPresent(String.self, forKey: .activation) ?? "quick_gelu"
        guard let act = Activation(rawValue: actName) else {
            throw TextEncoderError.invalidConfiguration(field: "hidden_act", reason: "\"\(actName)\" is not one of quick_gelu, gelu, gelu_new, gelu_pytorch_tanh")
        }
        try self.init(
            vocabSize: c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 49408,
            hiddenSize: c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 512,
            intermediateSize: c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 2048,
            projectionDim: c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512,
            numLayers: c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 12,
            numHeads: c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 8,
            maxPositions: c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 77,
            activation: act,
            layerNormEps: c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-5,
            bosTokenID: c.decodeIfPresent(Int.self, forKey: .bosTokenID) ?? 49406,
            eosTokenID: c.decodeIfPresent(Int.self, forKey: .eosTokenID) ?? 49407,
            padTokenID: c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? 1)
    }

    /// Positive sizes, `hidden_size` divisible by `num_attention_heads`, a positive finite epsilon.
    public func validate() throws {
        let sizes: [(String, Int)] = [("vocab_size", vocabSize), ("hidden_size", hiddenSize),
                                      ("intermediate_size", intermediateSize), ("projection_dim", projectionDim),
                                      ("num_hidden_layers", numLayers), ("num_attention_heads", numHeads),
                                      ("max_position_embeddings", maxPositions)]
        for (field, value) in sizes where value <= 0 {
            throw TextEncoderError.invalidConfiguration(field: field, reason: "must be positive, is \(value)")
        }
        guard hiddenSize % numHeads == 0 else {
            throw TextEncoderError.invalidConfiguration(field: "hidden_size", reason: "\(hiddenSize) is not divisible by num_attention_heads \(numHeads)")
        }
        guard layerNormEps > 0, layerNormEps.isFinite else {
            throw TextEncoderError.invalidConfiguration(field: "layer_norm_eps", reason: "must be positive and finite, is \(layerNormEps)")
        }
    }

    /// Per-head width `hidden_size / num_attention_heads`.
    public var headDim: Int { hiddenSize / numHeads }

    /// Reads `config.json`; a full `CLIPConfig` is accepted too (its `text_config`, with the top-level
    /// `projection_dim`).
    public static func read(_ url: URL) throws -> CLIPTextConfiguration {
        let data = try CLIPTokenizer.readData(url)
        do {
            if let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
               var text = object["text_config"] as? [String: Any] {
                // A CLIPModel's projection width is the top-level `projection_dim`.
                if let projection = object["projection_dim"] { text["projection_dim"] = projection }
                return try JSONDecoder().decode(Self.self, from: JSONSerialization.data(withJSONObject: text))
            }
            return try JSONDecoder().decode(Self.self, from: data)
        } catch let error as TextEncoderError {
            throw error
        } catch {
            throw TextEncoderError.unreadableFile(path: url.path, reason: "not a CLIP text configuration (\(error))")
        }
    }
}
