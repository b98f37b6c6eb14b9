@testable import CaptionIndex
import Foundation
import GRDB
import Testing
@testable import Registry

/// Regularization sets: Σ against NumPy Float64 (fixtures/generate_captions.py, sd-tiny base text encoder, relative
/// tolerance 1e-4 of max|Σ|), retrieval, the default set, and the trainer's export layout.
@Suite struct CaptionsRegsetTests {
    struct SigmaFile: Decodable {
        struct Entry: Decodable { let rows: Int; let sigma: [Double] }
        let regset: Entry
        let `default`: Entry
        let dimension: Int
    }

    func reference() throws -> SigmaFile {
        try JSONDecoder().decode(SigmaFile.self, from: Data(contentsOf: CaptionsFixtures.directory.appendingPathComponent("sigma_sd_tiny.json")))
    }

    func expectClose(_ sigma: Matrix<Double>, _ expected: [Double], _ d: Int) {
        #expect(sigma.rows == d && sigma.cols == d)
        let scale = expected.map(abs).max() ?? 1
        let worst = zip(sigma.storage, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 * scale, "max |ΔΣ| = \(worst), max |Σ| = \(scale)")
    }

    @Test func fromFileStoresSigma() throws {
        let t = try CaptionsFixtures.storeWithTinyBase()
        let ref = try reference()
        let result = try t.store.createRegset(name: "r", base: "tiny", fromFile: CaptionsFixtures.path("regset.txt"))
        #expect(result == RegsetCreateResult(name: "r", captions: 6, featureRows: ref.regset.rows))
        let (sigma, rows) = try t.store.regularizationGram(set: "r", base: "tiny")
        #expect(rows == ref.regset.rows)
        expectClose(sigma, ref.regset.sigma, ref.dimension)
        let info = try t.store.regset(named: "r")
        #expect(info.grams == [RegsetInfo.Gram(base: "tiny", dimension: ref.dimension, featureRows: ref.regset.rows)])
        #expect(throws: CaptionError.regsetExists("r")) { try t.store.createRegset(name: "r", base: "tiny", fromFile: CaptionsFixtures.path("regset.txt")) }
        #expect(throws: RegistryError.unknownBase("nope")) { try t.store.createRegset(name: "q", base: "nope", fromFile: CaptionsFixtures.path("regset.txt")) }
        #expect(try t.store.regsets().map(\.name) == ["r"])
    }

    @Test func defaultSetIsCreatedLazily() throws {
        let t = try CaptionsFixtures.storeWithTinyBase()
        let ref = try reference()
        #expect(DefaultRegularizationCaptions.captions.count >= 200)
        #expect(Set(DefaultRegularizationCaptions.captions).count == DefaultRegularizationCaptions.captions.count)
        let (sigma, rows) = try t.store.regularizationGram(set: nil, base: "tiny")
        #expect(rows == ref.default.rows)
        expectClose(sigma, ref.default.sigma, ref.dimension)
        #expect(try t.store.regset(named: "default").captions == DefaultRegularizationCaptions.captions.count)
        // Second call: read back from the catalog, identical.
        #expect(try t.store.regularizationGram(set: nil, base: "tiny").sigma == sigma)
        #expect(throws: CaptionError.self) { try t.store.createRegset(name: "default", base: "tiny", fromFile: CaptionsFixtures.path("regset.txt")) }
    }

    @Test func byRetrieval() throws {
        let t = try CaptionsFixtures.storeWithTinyBase()
        _ = try t.store.addCaptionEncoder(name: "tiny-clip", path: CaptionsFixtures.directory.appendingPathComponent("encoder"))
        _ = try t.store.importCaptions(file: CaptionsFixtures.path("golden.txt"), set: "golden", source: .encoder(nil))
        let search = try #require(try CaptionsFixtures.searches().searches.first { $0.query == "a boat on the beach" })
        let result = try t.store.createRegset(name: "boats", base: "tiny", queries: [search.query], set: "golden", threshold: search.threshold)
        #expect(result.captions == search.expected.count)
        #expect(try t.store.regset(named: "boats").items?.map(\.caption) == search.expected.map(\.caption))
        #expect(throws: CaptionError.self) {
            try t.store.createRegset(name: "none", base: "tiny", queries: [search.query], set: "golden", threshold: 1.0001)
        }
        #expect(try t.store.regsets().map(\.name) == ["boats"])
    }

    @Test func exportWritesTheTrainersLayout() throws {
        let t = try CaptionsFixtures.storeWithTinyBase()
        let image = t.root.appendingPathComponent("cat.png")
        try Data([1, 2, 3]).write(to: image)
        let list = t.root.appendingPathComponent("list.jsonl")
        try """
        {"caption": "a cat", "url": "https://example.com/cat.png", "path": "\(image.path)"}
        {"caption": "a dog\\nrunning", "url": "https://example.com/dog.jpg"}
        """.write(to: list, atomically: true, encoding: .utf8)
        _ = try t.store.createRegset(name: "pets", base: "tiny", fromFile: list.path)
        let out = t.root.appendingPathComponent("export")
        let result = try t.store.exportRegset(name: "pets", to: out)
        #expect(result.captions == 2 && result.imagesCopied == 1 && result.imagesMissing == 1)
        func lines(_ name: String) throws -> [String] {
            try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
        #expect(try lines("caption.txt") == ["a cat", "a dog running"])
        #expect(try lines("urls.txt") == ["https://example.com/cat.png", "https://example.com/dog.jpg"])
        let images = out.appendingPathComponent("images")
        #expect(try lines("images.txt") == [images.appendingPathComponent("0.png").path, images.appendingPathComponent("1.jpg").path])
        #expect(FileManager.default.contents(atPath: images.appendingPathComponent("0.png").path) == Data([1, 2, 3]))
        #expect(throws: CaptionError.unknownRegset("nope")) { try t.store.exportRegset(name: "nope", to: out) }
    }
}
