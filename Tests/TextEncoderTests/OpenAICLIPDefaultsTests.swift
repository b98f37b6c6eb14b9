import Foundation
import Testing
@testable import TextEncoder

/// The tokenizer and configuration used for bases without tokenizer files or `config.json` (CompVis SD 1.x single
/// files): CLIP's bundled merges must tokenize exactly as transformers (`fixtures/clip/tokens.jsonl`), and the
/// configuration read from the tensor shapes must be ViT-L/14's (`openai/clip-vit-large-patch14`).
@Suite("OpenAI CLIP defaults")
struct OpenAICLIPDefaultsTests {
    /// ViT-L/14 text tower shapes under the CompVis SD 1.x prefix.
    static func vitL14Shapes(prefix: String = "cond_stage_model.transformer.text_model.", layers: Int = 12) -> [String: [Int]] {
        var shapes = [
            prefix + "embeddings.token_embedding.weight": [49408, 768],
            prefix + "embeddings.position_embedding.weight": [77, 768],
            prefix + "final_layer_norm.weight": [768],
        ]
        for i in 0..<layers {
            shapes[prefix + "encoder.layers.\(i).mlp.fc1.weight"] = [3072, 768]
            shapes[prefix + "encoder.layers.\(i).mlp.fc2.weight"] = [768, 3072]
            shapes[prefix + "encoder.layers.\(i).self_attn.q_proj.weight"] = [768, 768]
        }
        return shapes
    }

    @Test("the bundled tokenizer gives transformers' ids for every plain golden string")
    func bundledTokenizer() throws {
        let tokenizer = try CLIPTokenizer.bundledOpenAICLIP()
        #expect(tokenizer.vocabSize == 49408 && tokenizer.bosID == 49406 && tokenizer.eosID == 49407 && tokenizer.padID == 49407)
        let lines = try CLIPTokenizerTests.lines().filter { $0.added == nil && $0.pad == nil }
        #expect(lines.count > 100)
        for line in lines { #expect(tokenizer.encode(line.text) == line.ids, "\(line.text)") }
    }

    @Test("ViT-L/14 configuration from CompVis tensor shapes (both CompVis prefixes)")
    func vitL14() throws {
        for prefix in ["cond_stage_model.transformer.text_model.", "cond_stage_model.transformer."] {
            let c = try CLIPTextConfiguration.openAICLIP(tensorShapes: Self.vitL14Shapes(prefix: prefix))
            #expect(c.vocabSize == 49408 && c.hiddenSize == 768 && c.intermediateSize == 3072 && c.numLayers == 12)
            #expect(c.numHeads == 12 && c.maxPositions == 77 && c.activation == .quickGELU && c.layerNormEps == 1e-5)
            #expect(c.bosTokenID == 49406 && c.eosTokenID == 49407)
        }
    }

    @Test("shapes that are not an OpenAI CLIP tower are refused with the reason")
    func refusals() throws {
        var shapes = Self.vitL14Shapes()
        shapes["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"] = [512, 768]
        #expect { try CLIPTextConfiguration.openAICLIP(tensorShapes: shapes) } throws: { error in
            (error as? LocalizedError)?.errorDescription?.contains("not the 49408 tokens") == true
        }
        #expect(throws: TextEncoderError.self) {
            try CLIPTextConfiguration.openAICLIP(tensorShapes: ["cond_stage_model.model.token_embedding.weight": [49408, 1024]])
        }
        var gap = Self.vitL14Shapes()
        gap = gap.filter { !$0.key.contains("layers.5.") }
        #expect(throws: TextEncoderError.self) { try CLIPTextConfiguration.openAICLIP(tensorShapes: gap) }
        var narrow = Self.vitL14Shapes()
        narrow["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"] = [49408, 32]
        narrow["cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"] = [77, 32]
        #expect(throws: TextEncoderError.self) { try CLIPTextConfiguration.openAICLIP(tensorShapes: narrow) }
    }
}
