import Crypto
import CustomDiffusion
import Foundation
import TextEncoder

/// Target features of a concept's tokens (DESIGN.md §1): for token `T` of category `c` the prompts
/// `"T c"` and `"a photo of T c"` (style: `"T c"` and `"painting in the style of T c"`), encoded by
/// the base text encoder with `T` as an added token whose embedding is the concept's learned one;
/// rows are the last hidden state (after the final layer norm) at positions 1 … EOS.
///
/// Each row also gets a *prefix key*: a digest of the token ids up to and including its position,
/// learned tokens standing for their embedding bytes. The encoder is causal, so equal keys mean
/// equal features; composition drops rows whose key was seen before (the `a photo of` rows that
/// every concept shares) instead of comparing floats.
struct TargetFeatures {
    var features: Matrix<Float>
    var prefixKeys: [String]
    /// Token position (within the version) each row belongs to.
    var rowTokens: [Int]

    static func prompts(token: String, category: String, kind: RegisterRequest.Kind) -> [String] {
        let subject = category.isEmpty ? token : "\(token) \(category)"
        switch kind {
        case .object: return [subject, "a photo of \(subject)"]
        case .style: return [subject, "painting in the style of \(subject)"]
        }
    }

    /// Encodes every token's prompts. Tokens are added under private placeholder names (features
    /// depend on the vectors, not on the names, and a name could collide with the vocabulary).
    static func compute(tokens: [(category: String, embedding: [Float])], kind: RegisterRequest.Kind,
                        tokenizer: CLIPTokenizer, model: CLIPTextModel) throws -> TargetFeatures {
        let d = model.configuration.hiddenSize
        let placeholders = tokens.indices.map { "<concept-token-\($0)>" }
        let extended = tokenizer.adding(tokens: placeholders)
        var extra: [Float] = []
        var embeddingBytes: [Int32: Data] = [:]
        for (i, token) in tokens.enumerated() {
            guard token.embedding.count == d else {
                throw RegistryError.catalog("token embedding has \(token.embedding.count) values, the text encoder uses \(d)")
            }
            guard let id = extended.addedTokenID(placeholders[i]), Int(id) == model.configuration.vocabSize + i else {
                throw RegistryError.catalog("the base tokenizer's vocabulary (\(tokenizer.vocabSize)) does not match its text encoder's (\(model.configuration.vocabSize))")
            }
            extra += token.embedding
            embeddingBytes[id] = token.embedding.withUnsafeBytes { Data($0) }
        }
        var sequences: [[Int32]] = []
        var owners: [Int] = []
        for (i, token) in tokens.enumerated() {
            for prompt in prompts(token: placeholders[i], category: token.category, kind: kind) {
                sequences.append(extended.encode(prompt, maxLength: model.configuration.maxPositions))
                owners.append(i)
            }
        }
        let outputs = try model.encode(sequences, extraEmbeddings: Matrix(rows: tokens.count, cols: d, storage: extra))
        var storage: [Float] = []
        var keys: [String] = []
        var rowTokens: [Int] = []
        for (k, ids) in sequences.enumerated() {
            var hasher = SHA256()
            for (position, id) in ids.enumerated() {
                if let bytes = embeddingBytes[id] {
                    hasher.update(data: Data("e".utf8) + bytes)
                } else {
                    withUnsafeBytes(of: id.littleEndian) { hasher.update(data: Data("i".utf8) + Data($0)) }
                }
                guard position >= 1 else { continue }
                keys.append(hasher.finalize().map { String(format: "%02x", $0) }.joined())
                storage += outputs[k].hidden.storage[(position * d)..<((position + 1) * d)]
                rowTokens.append(owners[k])
            }
        }
        return TargetFeatures(features: Matrix(rows: keys.count, cols: d, storage: storage), prefixKeys: keys, rowTokens: rowTokens)
    }
}
