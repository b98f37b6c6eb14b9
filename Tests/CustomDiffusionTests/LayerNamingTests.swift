import Foundation
import Testing
import TensorFormats
@testable import CustomDiffusion

@Suite("Layer naming")
struct LayerNamingTests {
    @Test("the 16 SD1 layers map diffusers ↔ CompVis both ways, as the reference converter names them")
    func sd1RoundTrip() throws {
        let goldens = try Fixtures.layerGoldens()
        #expect(goldens.count == 16)
        for g in goldens {
            #expect(LayerNaming.compvisName(ofLayer: g.diffusers) == g.compvis)
            #expect(LayerNaming.diffusersName(ofCompVisLayer: g.compvis) == g.diffusers)
            for projection in Projection.allCases {
                let key = LayerKey(layer: g.diffusers, projection: projection)
                #expect(LayerNaming.parse(weightName: "\(g.compvis).\(projection.rawValue).weight") == key)
                #expect(LayerNaming.parse(weightName: LayerNaming.parameterName(key)) == key)
                #expect(LayerNaming.parse(weightName: "unet." + LayerNaming.parameterName(key)) == key)
                #expect(LayerNaming.parse(weightName: LayerNaming.processorKey(key)) == key)
                #expect(LayerNaming.compvisParameterName(key) == "\(g.compvis).\(projection.rawValue).weight")
            }
        }
    }

    @Test("the design table's rows")
    func designTable() {
        #expect(LayerNaming.compvisName(ofLayer: "down_blocks.0.attentions.0.transformer_blocks.0.attn2")
                == "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2")
        #expect(LayerNaming.compvisName(ofLayer: "down_blocks.2.attentions.1.transformer_blocks.0.attn2")
                == "model.diffusion_model.input_blocks.8.1.transformer_blocks.0.attn2")
        #expect(LayerNaming.compvisName(ofLayer: "mid_block.attentions.0.transformer_blocks.0.attn2")
                == "model.diffusion_model.middle_block.1.transformer_blocks.0.attn2")
        #expect(LayerNaming.compvisName(ofLayer: "up_blocks.3.attentions.2.transformer_blocks.0.attn2")
                == "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.attn2")
        // SDXL: several transformer blocks per attention; the index is kept.
        #expect(LayerNaming.diffusersName(ofCompVisLayer: "model.diffusion_model.input_blocks.7.1.transformer_blocks.9.attn2")
                == "down_blocks.2.attentions.0.transformer_blocks.9.attn2")
        #expect(LayerNaming.diffusersName(ofCompVisLayer: "output_blocks.0.1.transformer_blocks.3.attn2") == "up_blocks.0.attentions.0.transformer_blocks.3.attn2")
        // Not cross-attention layers / outside the table.
        #expect(LayerNaming.parse(weightName: "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight") == nil)
        #expect(LayerNaming.parse(weightName: "model.diffusion_model.input_blocks.3.1.transformer_blocks.0.attn2.to_k.weight") == nil)
        #expect(LayerNaming.compvisName(ofLayer: "down_blocks.0.attentions.2.transformer_blocks.0.attn2") == nil)
    }

    @Test("processor and kohya keys have the exact text diffusers writes and converts")
    func externalKeys() {
        let key = LayerKey(layer: "up_blocks.1.attentions.2.transformer_blocks.0.attn2", projection: .value)
        #expect(LayerNaming.processorKey(key) == "up_blocks.1.attentions.2.transformer_blocks.0.attn2.processor.to_v_custom_diffusion.weight")
        #expect(LayerNaming.kohyaModuleName(key) == "lora_unet_up_blocks_1_attentions_2_transformer_blocks_0_attn2_to_v")
    }

    @Test("the processor keys match the file written by diffusers' save_attn_procs")
    func processorKeysMatchFixture() throws {
        let archive = try TensorFile.read(path: Fixtures.concept("cat-diffusers/pytorch_custom_diffusion_weights.safetensors").path)
        let layers = try Fixtures.baseLayers()
        let ours = Set(layers.flatMap { l in Projection.allCases.map { LayerNaming.processorKey(LayerKey(layer: l.name, projection: $0)) } })
        #expect(ours == Set(archive.tensors.map(\.name)))
    }

    @Test("detection finds the same 16-layer table in the diffusers UNet and the CompVis single file")
    func detection() throws {
        let goldens = try Fixtures.layerGoldens()
        let fromDiffusers = try Fixtures.baseLayers()
        let compvis = try TensorFile.read(path: Fixtures.root.appendingPathComponent("base-compvis.safetensors").path)
        let fromCompVis = try CrossAttentionLayer.detect(in: compvis)
        #expect(fromDiffusers == fromCompVis)
        // Golden order is diffusers' parameter order (down, up, mid); ours is network order (down, mid, up).
        #expect(Set(fromDiffusers.map(\.name)) == Set(goldens.map(\.diffusers)))
        for g in goldens { #expect(fromDiffusers.first { $0.name == g.diffusers }?.outFeatures == g.h) }
        #expect(fromDiffusers[6].name == "mid_block.attentions.0.transformer_blocks.0.attn2")
        #expect(fromDiffusers.allSatisfy { $0.inFeatures == 32 })
        #expect(Architecture(layers: fromDiffusers) == .sd1)
        #expect(throws: ConceptError.self) { try CrossAttentionLayer.detect(in: [("conv_in.weight", [4, 4, 3, 3])]) }
        #expect(throws: ConceptError.self) {
            try CrossAttentionLayer.detect(in: [("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight", [8, 32])])
        }
    }

    @Test("architecture from the table")
    func architecture() {
        let sd2 = [CrossAttentionLayer(name: "mid_block.attentions.0.transformer_blocks.0.attn2", outFeatures: 1280, inFeatures: 1024)]
        let sdxl = [CrossAttentionLayer(name: "down_blocks.2.attentions.0.transformer_blocks.5.attn2", outFeatures: 1280, inFeatures: 2048)]
        #expect(Architecture(layers: sd2) == .sd2)
        #expect(Architecture(layers: sdxl) == .sdxl)
    }
}
