import Foundation
import Testing
import TextEncoder

/// `tokenize` and `encode` through the built binary, on a registered base and on an added encoder:
/// the store round trip (blobs, materialised tokenizer files) must give what the library computes
/// from the original folders (whose own goldens against transformers live in TextEncoderTests).
@Suite("tokenize and encode CLI", .serialized)
struct TextCLITests {
    let store = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-text-\(UUID().uuidString)").path
    let texts = ["a photo of a cat", "Hello, World! it's 2024", "<|startoftext|>odd"]

    func json(_ args: [String]) throws -> [String: Any] {
        let r = try runConcepts(["--store", store] + args + ["--json"])
        #expect(r.status == 0, "concepts \(args.joined(separator: " ")): \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
    }

    @Test("a registered base: ids and hidden states equal the library on the source folder")
    func base() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        _ = try json(["base", "add", "tiny", fixturePath("sd-tiny/base")])
        let tokenizer = try CLIPTokenizer.load(directory: URL(fileURLWithPath: fixturePath("sd-tiny/base/tokenizer")))
        let model = try CLIPTextModel.load(directory: URL(fileURLWithPath: fixturePath("sd-tiny/base/text_encoder")))
        let expectedIDs = texts.map { tokenizer.encode($0) }
        let ids = try json(["tokenize", "--base", "tiny"] + texts)["ids"] as? [[Int]]
        #expect(ids == expectedIDs.map { $0.map(Int.init) })

        for layer in ["last", "penultimate"] {
            let result = try json(["encode", "--base", "tiny", "--layer", layer] + texts)
            #expect((result["encode_ms"] as? Double ?? -1) >= 0)
            let items = try #require(result["results"] as? [[String: Any]])
            let expected = try model.encode(expectedIDs, layer: layer == "last" ? .last : .penultimate)
            #expect(items.count == texts.count)
            for (item, output) in zip(items, expected) {
                let hidden = (item["hidden"] as? [[Double]]) ?? []
                #expect(hidden.count == output.hidden.rows)
                let flat = hidden.flatMap { $0 }
                #expect(flat.count == output.hidden.storage.count)
                #expect(zip(flat, output.hidden.storage).allSatisfy { abs($0 - Double($1)) <= 1e-6 }, "\(layer)")
                let pooled = (item["pooled"] as? [Double]) ?? []
                #expect(zip(pooled, output.pooled).allSatisfy { abs($0 - Double($1)) <= 1e-6 } && pooled.count == output.pooled.count)
            }
        }
    }

    @Test("an added encoder with projection reports L2-normalised embeddings; stdin input")
    func encoder() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        let added = try json(["encoder", "add", "clip", fixturePath("captions/encoder")])
        #expect((added["projection_dim"] as? Int ?? 0) > 0)
        let r = try runConcepts(["--store", store, "encode", "--encoder", "clip", "--input", "-", "--json"], stdin: Data("a red bus\n\nthe sea at night\n".utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let items = try #require(object["results"] as? [[String: Any]])
        try #require(items.count == 3, "an empty line is an empty text")
        let first = try #require(items[0]["ids"] as? [Int])
        #expect(items[1]["ids"] as? [Int] == [first[0], first[first.count - 1]], "the empty line is BOS, EOS")
        for item in items {
            let embedding = try #require(item["embedding"] as? [Double])
            #expect(embedding.count == added["projection_dim"] as? Int)
            #expect(abs(embedding.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-5)
        }
    }

    @Test("--input: one text per line, an empty line is BOS EOS, outputs line up with the lines")
    func inputLines() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        _ = try json(["base", "add", "tiny", fixturePath("sd-tiny/base")])
        let tokenizer = try CLIPTokenizer.load(directory: URL(fileURLWithPath: fixturePath("sd-tiny/base/tokenizer")))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lines-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        // Empty lines first, in the middle (twice, one of them CRLF) and no text after the final break.
        try Data("\na photo of a cat\n\r\n\nthe sea\n".utf8).write(to: file)
        let lines = ["", "a photo of a cat", "", "", "the sea"]
        let expected = lines.map { tokenizer.encode($0).map(Int.init) }
        #expect(expected[0] == [Int(tokenizer.bosID), Int(tokenizer.eosID)])
        #expect(try json(["tokenize", "--base", "tiny", "--input", file.path])["ids"] as? [[Int]] == expected)
        let encoded = try #require(try json(["encode", "--base", "tiny", "--input", file.path])["results"] as? [[String: Any]])
        #expect(encoded.map { $0["ids"] as? [Int] ?? [] } == expected)
        #expect(encoded.map { ($0["hidden"] as? [[Double]])?.count ?? 0 } == expected.map(\.count))
        // Arguments come first, then the file's lines.
        #expect(try json(["tokenize", "--base", "tiny", "--input", file.path, "x"])["ids"] as? [[Int]]
                == [tokenizer.encode("x").map(Int.init)] + expected)
    }

    @Test("exactly one of --base and --encoder; unknown names are errors")
    func refusals() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        _ = try json(["init"])
        #expect(try runConcepts(["--store", store, "tokenize", "a"]).status == 64)
        let unknown = try runConcepts(["--store", store, "encode", "--base", "nope", "a"])
        #expect(unknown.status == 1 && unknown.stderr.hasPrefix("error: ") && unknown.stderr.contains("nope"))
    }
}
