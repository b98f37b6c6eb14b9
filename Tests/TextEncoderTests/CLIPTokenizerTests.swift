import Foundation
import Testing
@testable import TextEncoder

/// The CLIP tokenizer against transformers 5 (`fixtures/generate_clip.py`): exact token ids.
@Suite("CLIPTokenizer")
struct CLIPTokenizerTests {
    struct Line {
        let text: String
        let ids: [Int32]
        let added: [String]?
        let pad: Int32?
    }

    static func lines() throws -> [Line] {
        let text = try String(contentsOf: Fixtures.url("tokens.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { raw in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
            return Line(text: try #require(object["t"] as? String),
                        ids: try #require(object["ids"] as? [Int]).map(Int32.init),
                        added: object["added"] as? [String],
                        pad: (object["pad"] as? Int).map(Int32.init))
        }
    }

    @Test("The vocabulary built from merges.txt equals transformers' vocab.json (size, FNV-1a hash, samples)")
    func vocabularyFromMerges() throws {
        let tokenizer = try Fixtures.realTokenizer.get()
        let check = try #require(try Fixtures.json("vocab_check.json") as? [String: Any])
        #expect(tokenizer.vocabSize == check["count"] as? Int)
        var canonical: [UInt8] = []
        for id in 0..<Int32(tokenizer.vocabSize) {
            let token = try #require(tokenizer.token(for: id))
            canonical += Array("\(token)\t\(id)\n".utf8)
        }
        #expect(String(fnv1a64(canonical), radix: 16).leftPadded(16) == check["fnv1a64"] as? String)
        let samples = try #require(check["samples"] as? [String: Int])
        #expect(samples.count > 50)
        for (token, id) in samples { #expect(tokenizer.id(of: token) == Int32(id), "\(token)") }
        #expect(tokenizer.bosID == 49406 && tokenizer.eosID == 49407 && tokenizer.padID == 49407)
    }

    @Test("Token ids of ~1700 varied strings equal transformers' CLIPTokenizer (truncation to 77)")
    func goldenIDs() throws {
        let tokenizer = try Fixtures.realTokenizer.get()
        let cases = try Self.lines().filter { $0.added == nil && $0.pad == nil }
        #expect(cases.count > 1500)
        var failures: [String] = []
        for line in cases {
            let ids = tokenizer.encode(line.text)
            if ids != line.ids { failures.append("\(line.text.debugDescription): \(ids) vs \(line.ids)") }
        }
        #expect(failures.isEmpty, "\(failures.count) mismatches, first: \(failures.prefix(5).joined(separator: "\n"))")
        #expect(cases.contains { $0.ids.count == 77 }, "the fixture holds truncated captions")
    }

    @Test("Added tokens (<new1>, <sks2>) are matched in normalised text and get ids 49408, 49409")
    func addedTokens() throws {
        let tokenizer = try Fixtures.realTokenizer.get().adding(tokens: ["<new1>", "<sks2>"])
        #expect(tokenizer.addedTokenID("<new1>") == 49408 && tokenizer.addedTokenID("<sks2>") == 49409)
        #expect(tokenizer.adding(tokens: ["<new1>", "dog</w>"]).nextID == 49410, "existing tokens are not added again")
        let cases = try Self.lines().filter { $0.added != nil }
        #expect(cases.count > 50)
        for line in cases { #expect(tokenizer.encode(line.text) == line.ids, "\(line.text.debugDescription)") }
    }

    @Test("Padding to 77 with the base's pad token: EOS (SD 1.x) or ! = 0 (SD 2.x)")
    func padding() throws {
        let base = try Fixtures.realTokenizer.get()
        let cases = try Self.lines().filter { $0.pad != nil }
        #expect(cases.count == 7)
        for line in cases {
            let tokenizer = try base.padding(with: line.pad == 0 ? "!" : "<|endoftext|>")
            #expect(tokenizer.padID == line.pad)
            #expect(tokenizer.encode(line.text, padTo: 77) == line.ids, "\(line.text)")
        }
    }

    @Test("A Hugging Face tokenizer/ folder: tokenizer.json and vocab.json + merges.txt give transformers' ids")
    func folder() throws {
        let dir = Fixtures.url("tiny-tokenizer")
        let golden = try #require(try Fixtures.json("tiny-tokenizer/golden.json") as? [String: Any])
        let cases = try #require(golden["cases"] as? [[String: Any]])
        let fromFolder = try CLIPTokenizer.load(directory: dir)
        let fromJSON = try CLIPTokenizer(tokenizerJSON: dir.appendingPathComponent("tokenizer.json"))
        let plainFiles = try CLIPTokenizer(vocabURL: dir.appendingPathComponent("vocab.json"),
                                           mergesURL: dir.appendingPathComponent("merges.txt"))
        let fromFiles = try plainFiles.padding(with: "!")
        #expect(fromFolder.padID == 0, "pad_token \"!\" from tokenizer_config.json")
        #expect(plainFiles.encode("hi!!") != fromFolder.encode("hi!!"), "a \"!\" pad token is split out like transformers 5")
        #expect(fromFiles.vocabSize == golden["vocab_size"] as? Int && fromJSON.vocabSize == fromFiles.vocabSize)
        for entry in cases {
            let text = try #require(entry["t"] as? String)
            let ids = try #require(entry["ids"] as? [Int]).map(Int32.init)
            #expect(fromFolder.encode(text) == ids, "\(text)")
            #expect(fromJSON.encode(text) == ids, "\(text)")
            #expect(fromFiles.encode(text) == ids, "\(text)")
        }
        // A folder holding only vocab.json + merges.txt.
        let tmp = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: dir.appendingPathComponent(name), to: tmp.appendingPathComponent(name))
        }
        let plain = try CLIPTokenizer.load(directory: tmp)
        #expect(plain.padID == plain.eosID)
        #expect(plain.encode("a photo of a dog") == fromFolder.encode("a photo of a dog"))
    }

    @Test("Bad tokenizer files give typed errors")
    func errors() throws {
        let tmp = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        #expect(throws: TextEncoderError.noTokenizerFiles(directory: tmp.path)) { try CLIPTokenizer.load(directory: tmp) }
        let merges = tmp.appendingPathComponent("merges.txt")
        try Data("#version: 0.2\ni n\nthree parts here\n".utf8).write(to: merges)
        #expect(throws: TextEncoderError.invalidMergeLine(path: merges.path, line: 3, text: "three parts here")) {
            try CLIPTokenizer(bpeMerges: merges)
        }
        let gz = tmp.appendingPathComponent("bpe.txt.gz")
        try Data([0x1F, 0x8B, 8, 0]).write(to: gz)
        #expect(throws: TextEncoderError.compressedMergesUnsupported(path: gz.path)) { try CLIPTokenizer(bpeMerges: gz) }
        let vocab = tmp.appendingPathComponent("vocab.json")
        try Data(#"{"a": 0, "b": 1}"#.utf8).write(to: vocab)
        try Data("#version: 0.2\n".utf8).write(to: merges)
        #expect(throws: TextEncoderError.missingToken(path: vocab.path, token: "<|startoftext|>")) {
            try CLIPTokenizer(vocabURL: vocab, mergesURL: merges)
        }
    }

    @Test("Truncation keeps maxLength − 2 content tokens; the HTML option unescapes like OpenAI's basic_clean")
    func truncationAndHTML() throws {
        var tokenizer = try Fixtures.realTokenizer.get()
        let ids = tokenizer.encode(String(repeating: "dog ", count: 50), maxLength: 10)
        #expect(ids == [49406] + Array(repeating: 1929, count: 8) + [49407])
        #expect(tokenizer.encode("&amp;") != tokenizer.encode("&"))
        tokenizer.normalization = .htmlUnescape
        #expect(tokenizer.encode("&amp;amp; &#39;s") == tokenizer.encode("& 's"))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
