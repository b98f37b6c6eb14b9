import Foundation
import Testing
@testable import Registry

@Suite("base add")
struct BaseModelTests {
    @Test("a diffusers pipeline folder: sd1 layout, 16 layers, every tensor a blob")
    func diffusersFolder() throws {
        let t = try TestStore()
        let result = try t.store.addBase(name: "tiny", path: SDTiny.base)
        #expect(result.architecture == "sd1")
        #expect(result.crossAttentionLayers == 16)
        #expect(result.tensors > 100)
        // Identical tensors inside one base (zero-initialised biases, …) are stored once.
        let storedSizes = try t.store.catalog.read { c in try c.fetchValue("SELECT SUM(size) FROM blob", as: Int.self) ?? 0 }
        #expect(result.bytesNew == storedSizes)
        #expect(result.bytesNew <= result.bytesTotal && result.bytesNew > result.bytesTotal / 2)
        let info = try t.store.base(named: "tiny")
        #expect(info.layers?.count == 16)
        #expect(info.layers?.first?.name == "down_blocks.0.attentions.0.transformer_blocks.0.attn2")
        // Data-flow order: down blocks, the mid block, up blocks.
        #expect(info.layers?[6].name == "mid_block.attentions.0.transformer_blocks.0.attn2")
        #expect(info.layers?.last?.name == "up_blocks.3.attentions.2.transformer_blocks.0.attn2")
        #expect(info.layers?.allSatisfy { $0.inFeatures == 32 && [4, 8].contains($0.outFeatures) } == true)
        #expect(info.contextDim == 32)
        // The layer table matches the generator's golden table, in order.
        let golden = try JSONSerialization.jsonObject(with: Data(contentsOf: SDTiny.golden("layers.json"))) as? [[String: Any]] ?? []
        let goldenShapes = Dictionary(golden.map { ($0["diffusers"] as? String ?? "", $0["h"] as? Int ?? 0) }, uniquingKeysWith: { a, _ in a })
        #expect(Dictionary(uniqueKeysWithValues: (info.layers ?? []).map { ($0.name, $0.outFeatures) }) == goldenShapes)
        // Tokenizer and configs are kept as files.
        let files = try t.store.catalog.read { c in try c.fetchColumn("SELECT path FROM base_file ORDER BY path", as: String.self) }
        #expect(files.contains("tokenizer/vocab.json") && files.contains("tokenizer/merges.txt") && files.contains("text_encoder/config.json"))
        #expect(try t.store.verify().problems.isEmpty)
    }

    @Test("adding the same base again stores nothing new")
    func deduplicates() throws {
        let t = try TestStore.withTinyBase()
        let blobsBefore = try t.store.blobs.allHashes().count
        let again = try t.store.addBase(name: "tiny-again", path: SDTiny.base)
        #expect(again.bytesNew == 0)
        #expect(again.bytesTotal > 0)
        #expect(try t.store.blobs.allHashes().count == blobsBefore)
        #expect(try t.store.bases().map(\.name) == ["tiny", "tiny-again"])
    }

    @Test("a CompVis single file maps to the same diffusers layer table")
    func compvisFile() throws {
        let t = try TestStore.withTinyBase()
        let result = try t.store.addBase(name: "tiny-compvis", path: SDTiny.baseCompVis)
        #expect(result.crossAttentionLayers == 16)
        #expect(result.architecture == "sd1")
        #expect(result.bytesNew > 0, "fp16 CompVis tensors differ from the fp32 diffusers ones")
        let a = try t.store.base(named: "tiny").layers ?? []
        let b = try t.store.base(named: "tiny-compvis").layers ?? []
        #expect(a.map(\.name) == b.map(\.name))
        #expect(a.map(\.outFeatures) == b.map(\.outFeatures))
        let keyTensor = try t.store.catalog.read { c in
            try c.fetchValue("SELECT key_tensor FROM base_layer l JOIN base_model b ON b.id = l.base_id WHERE b.name = 'tiny-compvis' AND l.position = 0", as: String.self)
        }
        #expect(keyTensor == "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight")
    }

    @Test("refusals: existing name, missing path, a folder without a unet")
    func refusals() throws {
        let t = try TestStore.withTinyBase()
        #expect(throws: RegistryError.baseExists("tiny")) { try t.store.addBase(name: "tiny", path: SDTiny.base) }
        #expect(throws: RegistryError.self) { try t.store.addBase(name: "x", path: SDTiny.root.appendingPathComponent("nope")) }
        #expect(throws: RegistryError.self) { try t.store.addBase(name: "y", path: SDTiny.base.appendingPathComponent("tokenizer")) }
        #expect(throws: RegistryError.unknownBase("nope")) { try t.store.base(named: "nope") }
        #expect(try t.store.bases().count == 1)
    }
}
