import Foundation

/// Errors of the DiffusionModels module: configurations it cannot run, missing or misshapen weights, and inputs
/// whose sizes do not fit the model. Each case names the field, tensor or value at fault.
public enum DiffusionModelsError: Error, Equatable, LocalizedError {
    /// A `config.json` that is not valid JSON of the expected shape.
    case invalidConfigurationJSON(reason: String)
    /// A block type this implementation does not know (`field` is the Hugging Face key, e.g. `down_block_types`).
    case unsupportedBlockType(field: String, type: String)
    /// A configuration value this implementation does not support or that is out of range.
    case unsupportedConfiguration(field: String, value: String)
    /// A weight the model needs is absent.
    case missingTensor(name: String)
    /// A weight with the wrong shape.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A weight that is not floating point.
    case notFloatingPoint(name: String, dtype: String)
    /// An input whose element count or dimensions do not match what the call says or the model needs.
    case invalidInput(name: String, reason: String)
    /// `setCrossAttentionWeights` named a layer that is not one of the model's `attn2` layers.
    case unknownCrossAttentionLayer(String)
    /// A weights folder without a safetensors file the loader recognises.
    case noWeightsFile(directory: String)

    public var errorDescription: String? {
        switch self {
        case .invalidConfigurationJSON(let reason): "The model configuration is not valid: \(reason)."
        case .unsupportedBlockType(let field, let type):
            "\(field) names the block type \"\(type)\", which this implementation does not support."
        case .unsupportedConfiguration(let field, let value): "Unsupported configuration: \(field) = \(value)."
        case .missingTensor(let name): "The model weights lack \(name)."
        case .shapeMismatch(let name, let expected, let actual):
            "\(name) has shape \(actual), the configuration expects \(expected)."
        case .notFloatingPoint(let name, let dtype): "\(name) has element type \(dtype); a floating-point type is needed."
        case .invalidInput(let name, let reason): "Invalid \(name): \(reason)."
        case .unknownCrossAttentionLayer(let layer): "\(layer) is not a cross-attention (attn2) layer of this UNet."
        case .noWeightsFile(let directory):
            "\(directory) holds no diffusion_pytorch_model.safetensors (or a sharded index of it)."
        }
    }
}
