import Foundation

/// CLIP's byte-level BPE tokenizer, identical to transformers' `CLIPTokenizer` (transformers 5, `tokenizers`
/// backend) as Stable Diffusion pipelines use it.
///
/// Steps (transformers `models/clip/tokenization_clip.py`, tokenizers `AddedVocabulary::extract_and_normalize`):
/// 1. Special tokens (`<|startoftext|>`, `<|endoftext|>`) are split out of the raw text (leftmost-longest match).
/// 2. Each remaining segment is normalised: NFC, whitespace runs → one space, lowercase (per scalar, the full
///    Unicode lowercase mapping, no final-sigma context).
/// 3. Added tokens (a concept's modifier token such as `<new1>`, matched in normalised form) are split out.
/// 4. The CLIP pattern `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
///    cuts the rest into words; whitespace is dropped.
/// 5. Each word's UTF-8 bytes become byte-level symbols, `</w>` is appended to the last symbol, and BPE merges
///    the adjacent pair of lowest rank until none applies (results cached per word).
/// 6. `encode` truncates to `maxLength − 2` content tokens, wraps them in BOS … EOS and optionally pads.
///
/// Known differences from OpenAI's original `simple_tokenizer.py` (and open_clip): the original runs
/// `ftfy.fix_text` and `html.unescape` twice before lowercasing and strips the text; transformers does neither
/// (`&amp;` stays three tokens, mojibake is not repaired). `Normalization.htmlUnescape` offers the HTML part;
/// ftfy's repairs are not reproduced. The original also has no NFC step and no added-token matching.
public struct CLIPTokenizer: Sendable {
    /// Extra text clean-up before tokenisation.
    public enum Normalization: Sendable, Equatable {
        /// transformers' behaviour (the default).
        case transformers
        /// Also unescape HTML entities (`&amp;` → `&`, `&#39;` → `'`) twice, as OpenAI's `basic_clean` does.
        case htmlUnescape
    }

    /// A token matched as a whole before BPE.
    struct AddedToken: Sendable {
        let scalars: [Unicode.Scalar]
        let id: Int32
    }

    /// `vocabulary[token]` = id.
    let vocabulary: [String: Int32]
    /// `tokens[id]` for ids in the vocabulary and added tokens.
    let tokensByID: [Int32: String]
    let bpe: BytePairEncoder
    /// Matched on the raw text (`normalized: false` added tokens: the specials, including the pad token).
    var specialTokens: [AddedToken]
    /// Matched on the normalised text (`normalized: true`: tokens added with `adding(tokens:)`).
    let addedTokens: [AddedToken]

    /// `<|startoftext|>` (49406 in CLIP).
    public let bosID: Int32
    /// `<|endoftext|>` (49407 in CLIP).
    public let eosID: Int32
    /// The padding id: EOS for SD 1.x, `!` (0) for SD 2.x.
    public var padID: Int32
    /// Number of tokens in the base vocabulary (49408 for CLIP); added tokens start here.
    public let vocabSize: Int
    /// Extra clean-up before tokenising.
    public var normalization: Normalization = .transformers

    /// Builds a tokenizer from a vocabulary and its merges (in rank order). `source` names the file in errors.
    init(vocabulary: [String: Int32], merges: [(String, String)], source: String,
         extraSpecial: [(String, Int32)] = [], extraAdded: [(String, Int32)] = []) throws {
        guard let bos = vocabulary["<|startoftext|>"] else { throw TextEncoderError.missingToken(path: source, token: "<|startoftext|>") }
        guard let eos = vocabulary["<|endoftext|>"] else { throw TextEncoderError.missingToken(path: source, token: "<|endoftext|>") }
        self.vocabulary = vocabulary
        self.bpe = try BytePairEncoder(vocabulary: vocabulary, merges: merges, unknownID: eos, source: source)
        var specials: [(String, Int32)] = [("<|startoftext|>", bos), ("<|endoftext|>", eos)]
        for (content, id) in extraSpecial where !specials.contains(where: { $0.0 == content }) { specials.append((content, id)) }
        self.specialTokens = specials.map { AddedToken(scalars: Array($0.0.unicodeScalars), id: $0.1) }
        self.addedTokens = extraAdded.map { AddedToken(scalars: Self.normalize($0.0, .transformers), id: $0.1) }
        var byID: [Int32: String] = [:]
        for (token, id) in vocabulary { byID[id] = token }
        for (token, id) in extraSpecial + extraAdded { byID[id] = token }
        self.tokensByID = byID
        self.bosID = bos
        self.eosID = eos
        self.padID = eos
        self.vocabSize = (vocabulary.values.max().map { Int($0) + 1 }) ?? 0
    }

    // MARK: Added tokens

    /// A copy with `tokens` added (each matched as a whole in normalised text, like transformers' `add_tokens`).
    /// New tokens get consecutive ids from the first free id (`vocabSize` when nothing was added before); tokens
    /// already in the vocabulary or already added are skipped, as transformers does.
    public func adding(tokens: [String]) -> CLIPTokenizer {
        var added = addedTokens
        var byID = tokensByID
        var next = Int32(nextID)
        for token in tokens where !token.isEmpty && vocabulary[token] == nil {
            let scalars = Self.normalize(token, .transformers)
            guard !added.contains(where: { $0.scalars == scalars }) else { continue }
            added.append(AddedToken(scalars: scalars, id: next))
            byID[next] = token
            next += 1
        }
        return CLIPTokenizer(copying: self, addedTokens: added, tokensByID: byID)
    }

    private init(copying other: CLIPTokenizer, addedTokens: [AddedToken], tokensByID: [Int32: String]) {
        vocabulary = other.vocabulary
        bpe = other.bpe
        specialTokens = other.specialTokens
        self.addedTokens = addedTokens
        self.tokensByID = tokensByID
        bosID = other.bosID
        eosID = other.eosID
        padID = other.padID
        vocabSize = other.vocabSize
        normalization = other.normalization
    }

    /// The first id past the vocabulary and the added tokens.
    public var nextID: Int {
        max(vocabSize, (addedTokens.map(\.id).max().map { Int($0) + 1 }) ?? 0,
            (specialTokens.map(\.id).max().map { Int($0) + 1 }) ?? 0)
    }

    /// A copy padding with `token`, registered as a special token the way transformers 5 registers the
    /// `pad_token` of `tokenizer_config.json`: it is then matched as a whole in the raw text, so with SD 2's
    /// `"!"` every `!` in a prompt becomes id 0 instead of merging into `!!</w>`, `!</w>`, … (transformers 5
    /// behaviour, reproduced). Throws when `token` is not in the vocabulary.
    public func padding(with token: String) throws -> CLIPTokenizer {
        guard let id = id(of: token) else { throw TextEncoderError.missingToken(path: "pad_token", token: token) }
        var copy = self
        copy.padID = id
        let scalars = Array(token.unicodeScalars)
        if !copy.specialTokens.contains(where: { $0.scalars == scalars }) {
            copy.specialTokens.append(AddedToken(scalars: scalars, id: id))
        }
        return copy
    }

    /// The id of an added token (`<new1>`), if it was added.
    public func addedTokenID(_ token: String) -> Int32? {
        let scalars = Self.normalize(token, .transformers)
        return addedTokens.first { $0.scalars == scalars }?.id
    }

    /// The id of `token` in the vocabulary or among added tokens.
    public func id(of token: String) -> Int32? { vocabulary[token] ?? addedTokenID(token) }

    /// The token string of `id` (byte-level form, `</w>` suffix included), if known.
    public func token(for id: Int32) -> String? { tokensByID[id] }

    // MARK: Encoding

    /// `[BOS] + content + [EOS]`, content truncated to `maxLength − 2` tokens (transformers' `truncation=True,
    /// max_length=77`), then padded with `padID` up to `padTo` tokens when given.
    public func encode(_ text: String, maxLength: Int = 77, padTo: Int? = nil) -> [Int32] {
        var content = tokenIDs(text)
        let room = max(0, maxLength - 2)
        if content.count > room { content.removeLast(content.count - room) }
        var ids = [bosID] + content + [eosID]
        if let padTo, ids.count < padTo { ids += Array(repeating: padID, count: padTo - ids.count) }
        return ids
    }

    /// The ids of `text` without BOS/EOS and without truncation.
    public func tokenIDs(_ text: String) -> [Int32] {
        var cleaned = text
        if normalization == .htmlUnescape { cleaned = HTMLEntities.unescape(HTMLEntities.unescape(cleaned)) }
        var ids: [Int32] = []
        for segment in Self.split(Array(cleaned.unicodeScalars), on: specialTokens) {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let raw):
                let normalized = Self.normalize(String(String.UnicodeScalarView(raw)), .transformers)
                for part in Self.split(normalized, on: addedTokens) {
                    switch part {
                    case .token(let id): ids.append(id)
                    case .text(let scalars):
                        for word in Self.preTokenize(scalars) { ids += bpe.encode(word: word) }
                    }
                }
            }
        }
        return ids
    }
}
