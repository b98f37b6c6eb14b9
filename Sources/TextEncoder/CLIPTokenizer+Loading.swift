import Foundation

/// Reading CLIP tokenizers: CLIP's merges file alone, Hugging Face `vocab.json` + `merges.txt`, `tokenizer.json`,
/// and a `tokenizer/` folder of a diffusers base model.
extension CLIPTokenizer {
    /// The number of merges CLIP uses from its merges file: `49152 − 256 − 2` (`simple_tokenizer.py`).
    public static let clipMergeCount = 48_894

    /// A tokenizer from a Hugging Face `vocab.json` (token → id) and `merges.txt` (rank order).
    public init(vocabURL: URL, mergesURL: URL) throws {
        let vocabulary = try Self.readVocabulary(vocabURL)
        let merges = try Self.readMerges(mergesURL, limit: nil)
        try self.init(vocabulary: vocabulary, merges: merges, source: vocabURL.path)
    }

    /// A tokenizer from CLIP's merges file alone (`bpe_simple_vocab_16e6.txt`, decompressed, or a Hugging Face
    /// `merges.txt`), building the vocabulary exactly as CLIP does: the 256 byte-level characters, the same with
    /// `</w>`, each of the first 48 894 merges joined, then `<|startoftext|>` (49406) and `<|endoftext|>` (49407).
    public init(bpeMerges: URL) throws {
        let merges = try Self.readMerges(bpeMerges, limit: Self.clipMergeCount)
        let bytes = ByteLevel.orderedBytes.map { String(ByteLevel.character[Int($0)]) }
        var tokens = bytes + bytes.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = Int32(id) }
        try self.init(vocabulary: vocabulary, merges: merges, source: bpeMerges.path)
    }

    /// A tokenizer from a `tokenizers` `tokenizer.json` with a BPE model (`model.vocab`, `model.merges` as
    /// `"a b"` strings or `["a", "b"]` pairs) and its `added_tokens`. CLIP's normaliser and pre-tokenizer are
    /// assumed (they are what every CLIP `tokenizer.json` declares).
    public init(tokenizerJSON url: URL) throws {
        let object = try Self.readJSON(url)
        guard let model = object["model"] as? [String: Any], let rawVocab = model["vocab"] as? [String: Any],
              let rawMerges = model["merges"] as? [Any] else {
            throw TextEncoderError.invalidTokenizerJSON(path: url.path, reason: "no model.vocab / model.merges")
        }
        let vocabulary = try Self.vocabulary(from: rawVocab, path: url.path)
        var merges: [(String, String)] = []
        merges.reserveCapacity(rawMerges.count)
        for (index, entry) in rawMerges.enumerated() {
            if let text = entry as? String {
                merges.append(try Self.mergePair(text, line: index + 1, path: url.path))
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw TextEncoderError.invalidMergeLine(path: url.path, line: index + 1, text: String(describing: entry))
            }
        }
        var special: [(String, Int32)] = []
        var added: [(String, Int32)] = []
        for entry in object["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = entry["content"] as? String, let id = (entry["id"] as? NSNumber)?.int32Value else { continue }
            if vocabulary[content] == id, content == "<|startoftext|>" || content == "<|endoftext|>" { continue }
            if (entry["normalized"] as? Bool) ?? !((entry["special"] as? Bool) ?? false) {
                added.append((content, id))
            } else {
                special.append((content, id))
            }
        }
        try self.init(vocabulary: vocabulary, merges: merges, source: url.path, extraSpecial: special, extraAdded: added)
    }

    /// The tokenizer of a diffusers `tokenizer/` folder: `tokenizer.json` when present, else `vocab.json` +
    /// `merges.txt`; the pad token from `tokenizer_config.json` or `special_tokens_map.json` (`<|endoftext|>`
    /// for SD 1.x, `!` for SD 2.x); added tokens from `added_tokens.json` / `added_tokens_decoder`.
    public static func load(directory: URL) throws -> CLIPTokenizer {
        let fm = FileManager.default
        let json = directory.appendingPathComponent("tokenizer.json")
        let vocab = directory.appendingPathComponent("vocab.json")
        let merges = directory.appendingPathComponent("merges.txt")
        var tokenizer: CLIPTokenizer
        if fm.fileExists(atPath: json.path) {
            tokenizer = try CLIPTokenizer(tokenizerJSON: json)
        } else if fm.fileExists(atPath: vocab.path), fm.fileExists(atPath: merges.path) {
            tokenizer = try CLIPTokenizer(vocabURL: vocab, mergesURL: merges)
        } else {
            throw TextEncoderError.noTokenizerFiles(directory: directory.path)
        }
        var extra: [(String, Int32)] = []
        let addedFile = directory.appendingPathComponent("added_tokens.json")
        if fm.fileExists(atPath: addedFile.path) {
            for (token, id) in try readVocabulary(addedFile) { extra.append((token, id)) }
        }
        var pad: String?
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            let file = directory.appendingPathComponent(name)
            guard fm.fileExists(atPath: file.path) else { continue }
            let object = try readJSON(file)
            if pad == nil { pad = tokenString(object["pad_token"]) }
            for (key, value) in object["added_tokens_decoder"] as? [String: Any] ?? [:] {
                if let id = Int32(key), let content = tokenString(value) { extra.append((content, id)) }
            }
        }
        for (token, id) in extra.sorted(by: { $0.1 < $1.1 }) where tokenizer.id(of: token) == nil && Int(id) >= tokenizer.nextID {
            tokenizer = tokenizer.adding(tokens: [token])
        }
        if let pad {
            guard tokenizer.id(of: pad) != nil else { throw TextEncoderError.missingToken(path: directory.path, token: pad) }
            tokenizer = try tokenizer.padding(with: pad)
        }
        return tokenizer
    }

    // MARK: File helpers

    private static func tokenString(_ value: Any?) -> String? {
        if let text = value as? String { return text }
        return (value as? [String: Any])?["content"] as? String
    }

    static func readData(_ url: URL) throws -> Data {
        do { return try Data(contentsOf: url) } catch {
            throw TextEncoderError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    static func readJSON(_ url: URL) throws -> [String: Any] {
        let data = try readData(url)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TextEncoderError.invalidTokenizerJSON(path: url.path, reason: "not a JSON object")
        }
        return object
    }

    static func readVocabulary(_ url: URL) throws -> [String: Int32] {
        try vocabulary(from: readJSON(url), path: url.path)
    }

    private static func vocabulary(from object: [String: Any], path: String) throws -> [String: Int32] {
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(object.count)
        for (token, value) in object {
            guard let number = value as? NSNumber, number.int64Value >= 0, number.int64Value < Int32.max else {
                throw TextEncoderError.invalidTokenizerJSON(path: path, reason: "the id of \"\(token)\" is not a non-negative integer")
            }
            vocabulary[token] = number.int32Value
        }
        return vocabulary
    }

    /// Merges in rank order: `#version` header and empty lines skipped, at most `limit` merges.
    static func readMerges(_ url: URL, limit: Int?) throws -> [(String, String)] {
        let data = try readData(url)
        if data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B {
            throw TextEncoderError.compressedMergesUnsupported(path: url.path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TextEncoderError.unreadableFile(path: url.path, reason: "not UTF-8 text")
        }
        var merges: [(String, String)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let limit, merges.count >= limit { break }
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty || (index == 0 && line.hasPrefix("#version")) { continue }
            merges.append(try mergePair(String(line), line: index + 1, path: url.path))
        }
        return merges
    }

    private static func mergePair(_ line: String, line number: Int, path: String) throws -> (String, String) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw TextEncoderError.invalidMergeLine(path: path, line: number, text: line)
        }
        return (String(parts[0]), String(parts[1]))
    }
}
