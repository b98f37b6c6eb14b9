import CustomDiffusion
import Foundation
import Registry
import Tensors
import TextEncoder

/// The text features the UNet attends to, as `StableDiffusionPipeline.encode_prompt` (diffusers 0.42) makes them
/// for SD 1.x/2.x: the prompt tokenised with `padding="max_length"` to the tokenizer's 77 positions (truncated,
/// padded with the pad token), the text encoder's last hidden state (after the final layer norm), no attention
/// mask; the negative prompt ("" by default) the same way. The concepts' modifier tokens are added to the
/// tokenizer in order (ids from the vocabulary size on, as `add_tokens` + `resize_token_embeddings` do) and their
/// embeddings appended to the embedding table.
public struct TextConditioning {
    public let tokenizer: CLIPTokenizer
    public let model: CLIPTextModel
    let extraEmbeddings: Matrix<Float>?
    public let addedTokens: [String]

    public static let sequenceLength = 77

    public init(store: Store, base: String, tokens: [ConceptCheckpoint.Token]) throws {
        let (tokenizer, model) = try store.textEncoder(forBase: base)
        let d = model.configuration.hiddenSize
        let extended = tokenizer.adding(tokens: tokens.map(\.name))
        var rows: [Float] = []
        for (i, token) in tokens.enumerated() {
            guard token.embedding.count == d else {
                throw GenerationError.conceptMismatch("token \(token.name) has a \(token.embedding.count)-value embedding; the text encoder uses \(d)")
            }
            guard let id = extended.addedTokenID(token.name), Int(id) == model.configuration.vocabSize + i else {
                throw GenerationError.conceptMismatch("token \(token.name) is already in the vocabulary or the tokenizer (\(tokenizer.nextID) ids) does not match its text encoder (\(model.configuration.vocabSize))")
            }
            rows += token.embedding
        }
        self.tokenizer = extended
        self.model = model
        extraEmbeddings = tokens.isEmpty ? nil : Matrix(rows: tokens.count, cols: d, storage: rows)
        addedTokens = tokens.map(\.name)
    }

    public var hiddenSize: Int { model.configuration.hiddenSize }

    /// The 77 token ids of `text`.
    public func ids(_ text: String) -> [Int32] {
        let length = min(Self.sequenceLength, model.configuration.maxPositions)
        return tokenizer.encode(text, maxLength: length, padTo: length)
    }

    /// `[77 · d]` last hidden states of each text, in order.
    public func encode(_ texts: [String]) throws -> [[Float]] {
        try model.encode(texts.map(ids), layer: .last, extraEmbeddings: extraEmbeddings).map(\.hidden.storage)
    }

    /// The added tokens that do not occur in `prompt` (each deserves a warning: its concept will not show).
    public func tokensMissing(from prompt: String) -> [String] {
        let present = Set(ids(prompt))
        return addedTokens.filter { token in tokenizer.addedTokenID(token).map { !present.contains($0) } ?? true }
    }
}
