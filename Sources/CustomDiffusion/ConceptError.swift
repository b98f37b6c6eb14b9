import Foundation

/// Why a Custom Diffusion output, a layer table or a compression request was refused.
public enum ConceptError: Error, LocalizedError, Equatable, Sendable {
    /// The file or folder could not be read as a tensor file (the underlying reason attached).
    case unreadable(path: String, reason: String)
    /// The file is a tensor file but none of the Custom Diffusion layouts (docs/STORAGE.md §4).
    case unrecognizedFormat(path: String, reason: String)
    /// A diffusers folder without `pytorch_custom_diffusion_weights.safetensors|.bin`.
    case missingWeightsFile(directory: String)
    /// No token embedding found (and none is optional for a concept).
    case noTokens(path: String)
    /// Two embeddings claim the same token name (two files, or `tokenNames` repeating one).
    case duplicateToken(String, path: String)
    /// `<token>.safetensors` and `<token>.bin` (or `.pt`) of one trainer folder hold different embeddings.
    case disagreeingTokenFiles(token: String, path: String, otherPath: String, reason: String)
    /// `tokenNames` does not match the number of embeddings in the file.
    case tokenCountMismatch(expected: Int, given: Int, path: String)
    /// A token embedding that is not a vector of `d` values.
    case badEmbedding(token: String, shape: [Int], path: String)
    /// A NaN or ±Inf inside the named tensor (of the file at `path`; an empty path for a matrix
    /// computed in memory, such as the compressor's ΔW = W′ − W0).
    case nonFinite(tensor: String, path: String)
    /// A tensor with a dtype that cannot hold weights (integer, bool).
    case notFloatingPoint(tensor: String, dtype: String, path: String)
    /// The same layer weight appears twice.
    case duplicateWeight(LayerKey, path: String)
    /// A weight for a layer the base does not have.
    case unknownLayer(LayerKey)
    /// A base layer whose key or value weight the concept lacks.
    case missingLayer(LayerKey)
    /// A weight whose shape does not fit the base layer (`h × d`, or `h × r` / `r × d` factors).
    case wrongShape(LayerKey, expected: [Int], actual: [Int])
    /// A UNet whose tensors hold no cross-attention K/V pair, or an incomplete one.
    case noCrossAttentionLayers(reason: String)
    /// An unparseable compression policy string.
    case invalidPolicy(String)
    /// A matrix handed to the compressor or exporter with the wrong shape.
    case shapeMismatch(String)
    /// Writing an export failed.
    case cannotWrite(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .unrecognizedFormat(let path, let reason): "\(path) is not a Custom Diffusion output (diffusers folder, adobe delta.bin or CompVis delta.ckpt): \(reason)"
        case .missingWeightsFile(let dir): "\(dir) has no pytorch_custom_diffusion_weights.safetensors or .bin"
        case .noTokens(let path): "\(path) holds no modifier token embedding"
        case .duplicateToken(let token, let path): "token \(token) appears twice in \(path)"
        case .disagreeingTokenFiles(let token, let path, let other, let reason):
            "\(path) and \(other) disagree on token \(token) (\(reason)); remove the stale one"
        case .tokenCountMismatch(let expected, let given, let path): "\(path) holds \(expected) token embedding(s) but \(given) token name(s) were given"
        case .badEmbedding(let token, let shape, let path): "embedding of \(token) in \(path) has shape \(shape), expected one vector"
        case .nonFinite(let tensor, let path):
            path.isEmpty ? "\(tensor) holds NaN or infinite values" : "tensor \(tensor) in \(path) holds NaN or infinite values"
        case .notFloatingPoint(let tensor, let dtype, let path): "tensor \(tensor) in \(path) has dtype \(dtype), expected floating point"
        case .duplicateWeight(let key, let path): "weight \(key) appears twice in \(path)"
        case .unknownLayer(let key): "\(key) is not a cross-attention layer of the base"
        case .missingLayer(let key): "the concept has no weight for \(key)"
        case .wrongShape(let key, let expected, let actual): "\(key) has shape \(actual), the base expects \(expected)"
        case .noCrossAttentionLayers(let reason): "no cross-attention layers found: \(reason)"
        case .invalidPolicy(let text): "invalid compression policy '\(text)' (use lossless, fp16, energy:R, rank:N or error:E)"
        case .shapeMismatch(let what): "shape mismatch: \(what)"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
