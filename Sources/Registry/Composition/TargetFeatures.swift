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

    /// The token ids of every token's prompts (placeholders already added to `tokenizer`), and the
    /// token each sequence belongs to.
    static func promptSequences(categories: [String], kind: RegisterRequest.Kind, tokenizer: CLIPTokenizer,
                                placeholders: [String], maxLength: Int) -> (sequences: [[Int32]], owners: [Int]) {
        var sequences: [[Int32]] = []
        var owners: [Int] = []
        for (i, category) in categories.enumerated() {
            for prompt in prompts(token: placeholders[i], category: category, kind: kind) {
                sequences.append(tokenizer.encode(prompt, maxLength: maxLength))
                owners.append(i)
            }
        }
        return (sequences, owners)
    }

    /// The vocabulary ids `compute` will look up for tokens of these categories: the rows of the
    /// token embedding matrix the text encoder needs (`Store.textEncoder(forBase:vocabulary:)`).
    static func vocabularyIDs(categories: [String], kind: RegisterRequest.Kind, tokenizer: CLIPTokenizer, maxLength: Int) -> Set<Int32> {
        let placeholders = categories.indices.map { "<concept-token-\($0)>" }
        let (sequences, _) = promptSequences(categories: categories, kind: kind, tokenizer: tokenizer.adding(tokens: placeholders),
                                             placeholders: placeholders, maxLength: maxLength)
        return Set(sequences.joined().filter { Int($0) < tokenizer.vocabSize })
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
                throw RegistryError.incompatibleTextEncoder("token embedding has \(token.embedding.count) values, the text encoder uses \(d)")
            }
            guard let id = extended.addedTokenID(placeholders[i]), Int(id) == model.configuration.vocabSize + i else {
                throw RegistryError.incompatibleTextEncoder("the base tokenizer's vocabulary (\(tokenizer.vocabSize)) does not match its text encoder's (\(model.configuration.vocabSize))")
            }
            extra += token.embedding
            embeddingBytes[id] = token.embedding.withUnsafeBytes { Data($0) }
        }
        let (sequences, owners) = promptSequences(categories: tokens.map(\.category), kind: kind, tokenizer: extended,
                                                  placeholders: placeholders, maxLength: model.configuration.maxPositions)
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
