import Foundation
import Testing
@testable import Registry
import TensorFormats
import Tensors
import TextEncoder

/// A CompVis single file carries no `text_encoder/config.json` and no tokenizer files. An SD 1.x one (an OpenAI CLIP
/// tower under `cond_stage_model.transformer.`) must still give the base a text encoder: configuration from the
/// tensor shapes, CLIP's bundled tokenizer. Other towers must be refused with the reason.
@Suite("CompVis single-file text encoder")
struct CompVisTextEncoderTests {
    /// The tiny CompVis base with its text tower replaced by `tower` (written next to the store).
    static func compVisBase(tower: [(name: String, tensor: RawTensor)], in t: TestStore) throws -> URL {
        let kept = try Safetensors.read(path: SDTiny.baseCompVis.path).tensors.filter { !$0.name.hasPrefix("cond_stage_model.") }
        let url = t.root.appendingPathComponent("base-compvis-openai.safetensors")
        try FileManager.default.createDirectory(at: t.root, withIntermediateDirectories: true)
        try Safetensors.write(kept + tower, metadata: [:], to: url.path)
        return url
    }

    /// An OpenAI-CLIP-shaped tower (vocab 49408, d 64, 1 layer, MLP 128, 77 positions), random fp16 weights.
    static func openAITower() throws -> [(name: String, tensor: RawTensor)] {
        var rng = SplitMix64(seed: 7)
        func random(_ shape: [Int], offset: Float = 0) throws -> RawTensor {
            let values = (0..<shape.reduce(1, *)).map { _ in offset + 0.05 * (Float(rng.next() >> 40) / Float(1 << 23) - 1) }
            return try RawTensor.from(floats: values, shape: shape, as: .float16)
        }
        let p = "cond_stage_model.transformer.text_model.", l = p + "encoder.layers.0."
        var tower = [
            (p + "embeddings.token_embedding.weight", try random([49408, 64])),
            (p + "embeddings.position_embedding.weight", try random([77, 64])),
            (p + "final_layer_norm.weight", try random([64], offset: 1)), (p + "final_layer_norm.bias", try random([64])),
            (l + "layer_norm1.weight", try random([64], offset: 1)), (l + "layer_norm1.bias", try random([64])),
            (l + "layer_norm2.weight", try random([64], offset: 1)), (l + "layer_norm2.bias", try random([64])),
            (l + "mlp.fc1.weight", try random([128, 64])), (l + "mlp.fc1.bias", try random([128])),
            (l + "mlp.fc2.weight", try random([64, 128])), (l + "mlp.fc2.bias", try random([64])),
        ]
        for projection in ["q", "k", "v", "out"] {
            tower.append((l + "self_attn.\(projection)_proj.weight", try random([64, 64])))
            tower.append((l + "self_attn.\(projection)_proj.bias", try random([64])))
        }
        return tower.map { (name: $0.0, tensor: $0.1) }
    }

    @Test("an SD 1.x single file gets a text encoder: shapes → config, CLIP's tokenizer, hidden states for a prompt")
    func openAITowerIsUsable() throws {
        let t = try TestStore()
        _ = try t.store.addBase(name: "sd1-file", path: try Self.compVisBase(tower: Self.openAITower(), in: t))
        let (tokenizer, model) = try t.store.textEncoder(forBase: "sd1-file")
        #expect(model.configuration.hiddenSize == 64 && model.configuration.numLayers == 1 && model.configuration.numHeads == 1)
        #expect(model.configuration.vocabSize == 49408 && model.configuration.activation == .quickGELU)
        let ids = tokenizer.encode("A photo of a dog")
        #expect(ids == [49406, 320, 1125, 539, 320, 1929, 49407])  // transformers' ids (fixtures/clip/tokens.jsonl)
        let hidden = try #require(try model.encode([ids]).first).hidden
        #expect(hidden.rows == ids.count && hidden.cols == 64 && hidden.storage.allSatisfy(\.isFinite))
    }

    @Test("the tiny fixture's tower (vocab 512) is not recognisable as OpenAI CLIP: a clear error naming the base")
    func otherTowersAreRefused() throws {
        let t = try TestStore()
        _ = try t.store.addBase(name: "tiny-compvis", path: SDTiny.baseCompVis)
        #expect { try t.store.textEncoder(forBase: "tiny-compvis") } throws: { error in
            let text = (error as? LocalizedError)?.errorDescription ?? ""
            return text.contains("tiny-compvis") && text.contains("not recognisable as an OpenAI CLIP tower") && text.contains("49408")
        }
    }
}
