import Foundation

/// Errors of the TextEncoder module: bad tokenizer files, bad configurations, missing or misshapen weights, and
/// inputs the model cannot encode. Each case carries the file, tensor or value at fault.
public enum TextEncoderError: Error, Equatable, LocalizedError {
    /// A tokenizer or configuration file could not be read.
    case unreadableFile(path: String, reason: String)
    /// `merges.txt` line `line` (1-based) is not two space-separated symbols.
    case invalidMergeLine(path: String, line: Int, text: String)
    /// A merge whose parts or result is missing from the vocabulary.
    case mergeNotInVocabulary(path: String, merge: String)
    /// A `vocab.json` / `tokenizer.json` that is not the expected JSON shape.
    case invalidTokenizerJSON(path: String, reason: String)
    /// The vocabulary lacks a token the CLIP tokenizer needs (`<|startoftext|>`, `<|endoftext|>`, a pad token).
    case missingToken(path: String, token: String)
    /// A gzip-compressed merges file: Foundation cannot inflate it on every platform.
    case compressedMergesUnsupported(path: String)
    /// A directory that holds neither `tokenizer.json` nor `vocab.json` + `merges.txt`.
    case noTokenizerFiles(directory: String)
    /// A configuration value out of range (`field` uses the Hugging Face name).
    case invalidConfiguration(field: String, reason: String)
    /// A weight the model needs is absent.
    case missingTensor(name: String)
    /// A weight with the wrong shape.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A weight that is not floating point.
    case notFloatingPoint(name: String, dtype: String)
    /// A text encoder folder without `model.safetensors` (or a sharded index).
    case noWeightsFile(directory: String)
    /// A token id that is neither in the vocabulary nor in the supplied extra embeddings.
    case tokenOutOfRange(id: Int32, sequence: Int, limit: Int)
    /// A vocabulary id whose embedding row the model was built without (`CLIPTextModel(…, tokenIDs:)`).
    case tokenNotLoaded(id: Int32, sequence: Int)
    /// A sequence longer than the position table, or empty.
    case invalidSequenceLength(sequence: Int, length: Int, maximum: Int)
    /// Extra embeddings whose width is not the model's hidden size.
    case extraEmbeddingWidth(expected: Int, actual: Int)
    /// A hidden layer index outside 0…numLayers.
    case invalidLayer(Int, layers: Int)

    public var errorDescription: String? {
        switch self {
        case .unreadableFile(let path, let reason): "Cannot read \(path): \(reason)."
        case .invalidMergeLine(let path, let line, let text):
            "\(path), line \(line): expected two space-separated symbols, found \"\(text)\"."
        case .mergeNotInVocabulary(let path, let merge):
            "\(path): the merge \"\(merge)\" uses symbols missing from the vocabulary."
        case .invalidTokenizerJSON(let path, let reason): "\(path) is not a CLIP tokenizer file: \(reason)."
        case .missingToken(let path, let token): "The vocabulary in \(path) has no \"\(token)\" token."
        case .compressedMergesUnsupported(let path):
            "\(path) is gzip-compressed; decompress it (gunzip) and pass the .txt file."
        case .noTokenizerFiles(let directory):
            "\(directory) holds neither tokenizer.json nor vocab.json + merges.txt."
        case .invalidConfiguration(let field, let reason): "Invalid text encoder configuration: \(field) \(reason)."
        case .missingTensor(let name): "The text encoder weights lack \(name)."
        case .shapeMismatch(let name, let expected, let actual):
            "\(name) has shape \(actual), the configuration expects \(expected)."
        case .notFloatingPoint(let name, let dtype): "\(name) has element type \(dtype); a floating-point type is needed."
        case .noWeightsFile(let directory):
            "\(directory) holds no model.safetensors (or model.safetensors.index.json)."
        case .tokenOutOfRange(let id, let sequence, let limit):
            "Token id \(id) in sequence \(sequence) is outside 0..<\(limit) (vocabulary plus extra embeddings)."
        case .tokenNotLoaded(let id, let sequence):
            "Token id \(id) in sequence \(sequence) is not among the embedding rows this model was loaded with."
        case .invalidSequenceLength(let sequence, let length, let maximum):
            "Sequence \(sequence) has \(length) tokens; the model takes 1…\(maximum)."
        case .extraEmbeddingWidth(let expected, let actual):
            "Extra embeddings have \(actual) columns; the model's hidden size is \(expected)."
        case .invalidLayer(let layer, let layers): "Hidden layer \(layer) is outside 0…\(layers)."
        }
    }
}
