import DiffusionModels
import Foundation
import Tensors
import Testing

/// Configuration decoding (HF keys, refusals by name) and typed errors for bad weights and inputs.
struct ConfigurationAndErrorTests {
    func configJSON(replacing key: String, with value: Any) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("sd-tiny/base/unet/config.json"))) as? [String: Any] ?? [:]
        object[key] = value
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func decodesTheTinyConfig() throws {
        let config = try Fixtures.unetConfiguration()
        #expect(config.blockOutChannels == [4, 4, 8, 8])
        #expect(config.crossAttentionDim == 32)
        #expect(config.attentionHeadDim == .all(2))
        #expect(config.downBlockTypes == [.crossAttnDownBlock2D, .crossAttnDownBlock2D, .crossAttnDownBlock2D, .downBlock2D])
        #expect(config.upBlockTypes.first == .upBlock2D)
        #expect(config.flipSinToCos && config.freqShift == 0 && !config.useLinearProjection)
    }

    @Test func decodesSD2StyleLists() throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("sd-tiny/base/unet/config.json"))) as? [String: Any] ?? [:]
        object["attention_head_dim"] = [1, 2, 2, 4]
        object["use_linear_projection"] = true
        object["num_attention_heads"] = NSNull()
        let config = try UNetConfiguration.decode(JSONSerialization.data(withJSONObject: object))
        #expect(config.attentionHeadDim == .perBlock([1, 2, 2, 4]))
        #expect(config.numAttentionHeads == nil)
        #expect(config.useLinearProjection)
    }

    @Test func refusesUnknownBlockTypesByName() throws {
        let down = try configJSON(replacing: "down_block_types", with: ["CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"])
        #expect(throws: DiffusionModelsError.unsupportedBlockType(field: "down_block_types", type: "SimpleCrossAttnDownBlock2D")) {
            try UNetConfiguration.decode(down)
        }
        let up = try configJSON(replacing: "up_block_types", with: ["UpBlock2D", "AttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
        #expect(throws: DiffusionModelsError.unsupportedBlockType(field: "up_block_types", type: "AttnUpBlock2D")) {
            try UNetConfiguration.decode(up)
        }
        let mid = try configJSON(replacing: "mid_block_type", with: "UNetMidBlock2DSimpleCrossAttn")
        #expect(throws: DiffusionModelsError.unsupportedBlockType(field: "mid_block_type", type: "UNetMidBlock2DSimpleCrossAttn")) {
            try UNetConfiguration.decode(mid)
        }
        var vae = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("sd-tiny/base/vae/config.json"))) as? [String: Any] ?? [:]
        vae["up_block_types"] = ["UpDecoderBlock2D", "UpDecoderBlock2D", "AttnUpDecoderBlock2D", "UpDecoderBlock2D"]
        #expect(throws: DiffusionModelsError.unsupportedBlockType(field: "up_block_types", type: "AttnUpDecoderBlock2D")) {
            try VAEConfiguration.decode(JSONSerialization.data(withJSONObject: vae))
        }
    }

    @Test func refusesUnsupportedFeatures() throws {
        #expect(throws: DiffusionModelsError.unsupportedConfiguration(field: "addition_embed_type", value: "text_time")) {
            try UNetConfiguration.decode(configJSON(replacing: "addition_embed_type", with: "text_time"))
        }
        #expect(throws: DiffusionModelsError.self) { try UNetConfiguration.decode(configJSON(replacing: "attention_head_dim", with: 3)) }
        #expect(throws: DiffusionModelsError.self) { try UNetConfiguration.decode(Data("{\"in_channels\": \"four\"}".utf8)) }
    }

    @Test func wrongWeightShapeIsATypedError() throws {
        var tensors = try Fixtures.unetWeights().tensors
        tensors["down_blocks.2.resnets.0.conv1.weight"] = try RawTensor.from(floats: [Float](repeating: 0, count: 4 * 4 * 9),
                                                                              shape: [4, 4, 3, 3])
        #expect(throws: DiffusionModelsError.shapeMismatch(name: "down_blocks.2.resnets.0.conv1.weight", expected: [8, 4, 3, 3], actual: [4, 4, 3, 3])) {
            try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: TensorDictionaryWeights(tensors))
        }
        tensors = try Fixtures.unetWeights().tensors
        tensors["conv_out.bias"] = nil
        #expect(throws: DiffusionModelsError.missingTensor(name: "conv_out.bias")) {
            try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: TensorDictionaryWeights(tensors))
        }
    }

    @Test func wrongInputSizesAreTypedErrors() throws {
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: Fixtures.unetWeights())
        let text = [Float](repeating: 0, count: 77 * 32)
        #expect(throws: DiffusionModelsError.self) {  // 255 latents for [1, 4, 8, 8]
            try model.predict(latents: [Float](repeating: 0, count: 255), batch: 1, height: 8, width: 8, timestep: 1,
                              encoderHiddenStates: text, sequenceLength: 77)
        }
        #expect(throws: DiffusionModelsError.self) {  // text width 31
            try model.predict(latents: [Float](repeating: 0, count: 256), batch: 1, height: 8, width: 8, timestep: 1,
                              encoderHiddenStates: [Float](repeating: 0, count: 77 * 31), sequenceLength: 77)
        }
        #expect(throws: DiffusionModelsError.self) {  // 6 is not a multiple of 8 (3 downsamplings)
            try model.predict(latents: [Float](repeating: 0, count: 4 * 6 * 8), batch: 1, height: 6, width: 8, timestep: 1,
                              encoderHiddenStates: text, sequenceLength: 77)
        }
        #expect(throws: DiffusionModelsError.unknownCrossAttentionLayer("down_blocks.0.attentions.0.transformer_blocks.0.attn1")) {
            try model.setCrossAttentionWeights(layer: "down_blocks.0.attentions.0.transformer_blocks.0.attn1", key: [], value: [])
        }
        #expect(throws: DiffusionModelsError.unknownCrossAttentionLayer("down_blocks.3.attentions.0.transformer_blocks.0.attn2")) {
            try model.setCrossAttentionWeights(layer: "down_blocks.3.attentions.0.transformer_blocks.0.attn2", key: [], value: [])
        }
        #expect(throws: DiffusionModelsError.self) {  // 4×32 expected
            try model.setCrossAttentionWeights(layer: "down_blocks.0.attentions.0.transformer_blocks.0.attn2",
                                               key: [Float](repeating: 0, count: 4 * 31), value: [Float](repeating: 0, count: 4 * 32))
        }
        #expect(model.crossAttentionLayers.count == 16)
    }
}

/// The CompVis single file (fixtures/sd-tiny/base-compvis.safetensors: the same UNet in fp16, CompVis names) through
/// the name table gives diffusers' output for the fp16-rounded weights (golden d.out).
struct CompVisNamesTests {
    @Test func mapsKnownNames() {
        #expect(CompVisWeightNames.diffusersName(forCompVis: "model.diffusion_model.input_blocks.4.0.in_layers.2.weight")
                == "down_blocks.1.resnets.0.conv1.weight")
        #expect(CompVisWeightNames.diffusersName(forCompVis: "model.diffusion_model.output_blocks.5.2.conv.bias")
                == "up_blocks.1.upsamplers.0.conv.bias")
        #expect(CompVisWeightNames.diffusersName(forCompVis: "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.attn2.to_k.weight")
                == "up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_k.weight")
        #expect(CompVisWeightNames.diffusersName(forCompVis: "first_stage_model.decoder.up.3.block.0.nin_shortcut.weight")
                == "decoder.up_blocks.0.resnets.0.conv_shortcut.weight")
        #expect(CompVisWeightNames.diffusersName(forCompVis: "first_stage_model.decoder.mid.attn_1.proj_out.weight")
                == "decoder.mid_block.attentions.0.to_out.0.weight")
        #expect(CompVisWeightNames.diffusersName(forCompVis: "cond_stage_model.transformer.text_model.final_layer_norm.weight") == nil)
    }

    @Test func compVisFileRunsLikeDiffusers() throws {
        let file = try TensorDictionaryWeights(safetensorsPath: Fixtures.url("sd-tiny/base-compvis.safetensors").path)
        let weights = try CompVisWeightNames.weights(file, component: .unet)
        #expect(Set(weights.tensorNames) == Set(try Fixtures.unetWeights().tensorNames))
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: weights)
        let goldens = try Fixtures.goldens("unet.safetensors")
        let out = try model.predict(latents: Fixtures.floats(goldens, "latents"), batch: 2, height: 8, width: 16, timestep: 37,
                                    encoderHiddenStates: Fixtures.floats(goldens, "text"), sequenceLength: 77)
        #expect(relativeError(out, try Fixtures.floats(goldens, "d.out")) <= 1e-4)
    }
}
