import Crypto
import Foundation
import TextEncoder

/// Target features of a concept's tokens, its rows of `C` in Kumari et al., CVPR 2023, §3.2, Eq. 4
/// (docs/METHOD.md §3; the original builds them in `compose` of `src/diffusers_composenW.py`): for token `T` of category `c` the prompts
/// `"T c"` and `"a photo of T c"` (style: `"T c"` and `"painting in the style of T c"`), encoded by
/// the base text encoder with `T` as an added token whose embedding is the concept's learned one;
/// rows are the last hidden state (after the final layer norm) at positions 1 … EOS.
///
/// Each row also gets a *prefix key*: a digest of the token ids up to and including its position,
/// learned tokens standing for their embedding bytes. The encoder is causal, so equal keys mean
/// equal features; composition drops rows whose key was seen before (the `a photo of` rows that
/// every concept shares) instead of comparing floats.
public struct TargetFeatures: Sendable {
    /// `Cn`: one row per prompt position 1 … EOS of every token's prompts (sn × d, Float32).
    public var features: Matrix<Float>
    /// The causal-prefix digest of each row (hex SHA-256).
    public var prefixKeys: [String]
    /// Token position (within the version) each row belongs to.
    public var rowTokens: [Int]

    public init(features: Matrix<Float>, prefixKeys: [String], rowTokens: [Int]) {
        self.features = features
        self.prefixKeys = prefixKeys
        self.rowTokens = rowTokens
    }

    /// Why target features cannot be computed for a concept on a base.
    public enum Failure: Error, LocalizedError, Equatable, Sendable {
        /// A learned token embedding whose size is not the text encoder's width.
        case embeddingSize(values: Int, expected: Int)
        /// The tokenizer's vocabulary and the text model's token embedding table disagree.
        case vocabularyMismatch(tokenizer: Int, model: Int)

        public var errorDescription: String? {
            switch self {
            case .embeddingSize(let values, let expected): "token embedding has \(values) values, the text encoder uses \(expected)"
            case .vocabularyMismatch(let tokenizer, let model):
                "the base tokenizer's vocabulary (\(tokenizer)) does not match its text encoder's (\(model))"
            }
        }
    }

    /// The prompts whose features constrain token `token` of `category`.
    public static func prompts(token: String, category: String, kind: ConceptKind) -> [String] {
        let subject = category.isEmpty ? token : "\(token) \(category)"
        switch kind {
        case .object: return [subject, "a photo of \(subject)"]
        case .style: return [subject, "painting in the style of \(subject)"]
        }
    }

    /// The token ids of every token's prompts (placeholders already added to `tokenizer`), and the
    /// token each sequence belongs to.
    public static func promptSequences(categories: [String], kind: ConceptKind, tokenizer: CLIPTokenizer,
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
    public static func vocabularyIDs(categories: [String], kind: ConceptKind, tokenizer: CLIPTokenizer, maxLength: Int) -> Set<Int32> {
        let placeholders = categories.indices.map { "<concept-token-\($0)>" }
        let (sequences, _) = promptSequences(categories: categories, kind: kind, tokenizer: tokenizer.adding(tokens: placeholders),
                                             placeholders: placeholders, maxLength: maxLength)
        return Set(sequences.joined().filter { Int($0) < tokenizer.vocabSize })
    }

    /// Encodes every token's prompts. Tokens are added under private placeholder names (features
    /// depend on the vectors, not on the names, and a name could collide with the vocabulary).
    public static func compute(tokens: [(category: String, embedding: [Float])], kind: ConceptKind,
                        tokenizer: CLIPTokenizer, model: CLIPTextModel) throws -> TargetFeatures {
        let d = model.configuration.hiddenSize
        let placeholders = tokens.indices.map { "<concept-token-\($0)>" }
        let extended = tokenizer.adding(tokens: placeholders)
        var extra: [Float] = []
        var embeddingBytes: [Int32: Data] = [:]
        for (i, token) in tokens.enumerated() {
            guard token.embedding.count == d else {
                throw Failure.embeddingSize(values: token.embedding.count, expected: d)
            }
            guard let id = extended.addedTokenID(placeholders[i]), Int(id) == model.configuration.vocabSize + i else {
                throw Failure.vocabularyMismatch(tokenizer: tokenizer.vocabSize, model: model.configuration.vocabSize)
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

    /// One layer's merge values for these rows: `Cn W′ᵀ` and `Cn W0ᵀ` (sn × h each, Float32), from the
    /// fine-tuned weight `W′` (as export produces it) and the base weight `W0` (h × d each).
    public func layerValues(finetuned: Matrix<Float>, base: Matrix<Float>) -> ConceptTargets.LayerValues {
        ConceptTargets.LayerValues(target: Matrix.matmul(features, finetuned, transposeB: true),
                                   base: Matrix.matmul(features, base, transposeB: true))
    }
}
