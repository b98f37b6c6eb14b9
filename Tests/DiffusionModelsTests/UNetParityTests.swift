import DiffusionModels
import Foundation
import Tensors
import Testing

/// The Swift UNet against diffusers 0.42 on the committed tiny SD-1-layout UNet (fixtures/sd-tiny/base/unet), goldens
/// from fixtures/generate_sd_tiny_vae_unet.py. Tolerance: ‖ours − diffusers‖∞ ≤ 1e-4 · ‖diffusers‖∞, on every kernel path.
@Suite(.serialized)
struct UNetParityTests {
    let goldens: [String: RawTensor]
    let latents: [Float]
    let text: [Float]

    init() throws {
        goldens = try Fixtures.goldens("unet.safetensors")
        latents = try Fixtures.floats(goldens, "latents")
        text = try Fixtures.floats(goldens, "text")
    }

    @Test func batchTwoAtTimestep999() throws {
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: Fixtures.unetWeights())
        let expected = try Fixtures.floats(goldens, "a.out")
        try onEveryKernelPath { path in
            let out = try model.predict(latents: latents, batch: 2, height: 8, width: 16, timestep: 999,
                                        encoderHiddenStates: text, sequenceLength: 77)
            #expect(relativeError(out, expected) <= 1e-4, "kernel path \(path)")
        }
    }

    /// The same with the Winograd products run per sample (what large images do) instead of for the batch at once.
    @Test func batchTwoWithProductsPerSample() throws {
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: Fixtures.unetWeights())
        let expected = try Fixtures.floats(goldens, "a.out")
        setenv("CONCEPTS_WINOGRAD_MERGE", "0", 1)
        defer { unsetenv("CONCEPTS_WINOGRAD_MERGE") }
        try onEveryKernelPath { path in
            let out = try model.predict(latents: latents, batch: 2, height: 8, width: 16, timestep: 999,
                                        encoderHiddenStates: text, sequenceLength: 77)
            #expect(relativeError(out, expected) <= 1e-4, "kernel path \(path)")
        }
    }

    /// The same with F(4×4, 3×3) wherever the latents are a multiple of 4 (`CONCEPTS_WINOGRAD=4`: 8×16 and 4×8 here,
    /// where by size F(2×2) or direct would run), and with F(2×2, 3×3) only (`CONCEPTS_WINOGRAD=2`).
    @Test(arguments: ["4", "2"])
    func batchTwoWithEachWinogradTile(tile: String) throws {
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: Fixtures.unetWeights())
        let expected = try Fixtures.floats(goldens, "a.out")
        try onEveryKernelPath { path in
            setenv("CONCEPTS_WINOGRAD", tile, 1)
            defer { unsetenv("CONCEPTS_WINOGRAD") }
            let out = try model.predict(latents: latents, batch: 2, height: 8, width: 16, timestep: 999,
                                        encoderHiddenStates: text, sequenceLength: 77)
            #expect(relativeError(out, expected) <= 1e-4, "kernel path \(path), F\(tile)")
        }
    }

    @Test func batchOneAtFloatTimestep() throws {
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: Fixtures.unetWeights())
        let expected = try Fixtures.floats(goldens, "b.out")
        try onEveryKernelPath { path in
            let out = try model.predict(latents: Array(latents[0..<(4 * 8 * 16)]), batch: 1, height: 8, width: 16, timestep: 37.5,
                                        encoderHiddenStates: Array(text[0..<(77 * 32)]), sequenceLength: 77)
            #expect(relativeError(out, expected) <= 1e-4, "kernel path \(path)")
        }
    }

    @Test func replacedCrossAttentionWeights() throws {
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: Fixtures.unetWeights())
        let original = try model.predict(latents: latents, batch: 2, height: 8, width: 16, timestep: 999,
                                         encoderHiddenStates: text, sequenceLength: 77)
        for layer in ["down_blocks.0.attentions.1.transformer_blocks.0.attn2", "up_blocks.2.attentions.0.transformer_blocks.0.attn2"] {
            try model.setCrossAttentionWeights(layer: layer, key: Fixtures.floats(goldens, "c.\(layer).to_k"),
                                               value: Fixtures.floats(goldens, "c.\(layer).to_v"))
        }
        let expected = try Fixtures.floats(goldens, "c.out")
        #expect(relativeError(original, expected) > 1e-2)  // the replacement matters
        try onEveryKernelPath { path in
            let out = try model.predict(latents: latents, batch: 2, height: 8, width: 16, timestep: 999,
                                        encoderHiddenStates: text, sequenceLength: 77)
            #expect(relativeError(out, expected) <= 1e-4, "kernel path \(path)")
        }
    }

    /// A guided step's batch: the same latents twice with two texts. The layers before the first cross-attention
    /// then run once (`UNet2DConditionModel.forward`); the first half must still be diffusers' batch-1 output for
    /// (latents₀, text₀, t = 37.5) (golden "b.out", ≤ 1e-4), and both halves must equal the run that computes the
    /// two samples separately (`CONCEPTS_SHARED_PREFIX=0`) to ≤ 1e-5 relative.
    @Test func identicalLatentsShareTheLayersBeforeTheText() throws {
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: Fixtures.unetWeights())
        let sample = Array(latents[0..<(4 * 8 * 16)])
        let expected = try Fixtures.floats(goldens, "b.out")
        try onEveryKernelPath { path in
            let shared = try model.predict(latents: sample + sample, batch: 2, height: 8, width: 16, timestep: 37.5,
                                           encoderHiddenStates: text, sequenceLength: 77)
            setenv("CONCEPTS_SHARED_PREFIX", "0", 1)
            defer { unsetenv("CONCEPTS_SHARED_PREFIX") }
            let separate = try model.predict(latents: sample + sample, batch: 2, height: 8, width: 16, timestep: 37.5,
                                             encoderHiddenStates: text, sequenceLength: 77)
            #expect(relativeError(Array(shared[0..<expected.count]), expected) <= 1e-4, "kernel path \(path)")
            #expect(relativeError(shared, separate) <= 1e-5, "kernel path \(path)")
            // The text still tells the halves apart.
            #expect(relativeError(Array(shared[expected.count...]), Array(shared[0..<expected.count])) > 1e-3)
        }
    }

    /// fp16 weights (every tensor rounded to fp16 and kept as fp16) give diffusers' output for the same rounded weights.
    @Test func halfPrecisionWeights() throws {
        let source = try Fixtures.unetWeights()
        var half: [String: RawTensor] = [:]
        for (name, tensor) in source.tensors {
            half[name] = try RawTensor.from(floats: tensor.floats(), shape: tensor.shape, as: .float16)
        }
        let model = try UNet2DConditionModel(configuration: Fixtures.unetConfiguration(), weights: TensorDictionaryWeights(half))
        let expected = try Fixtures.floats(goldens, "d.out")
        try onEveryKernelPath { path in
            let out = try model.predict(latents: latents, batch: 2, height: 8, width: 16, timestep: 37,
                                        encoderHiddenStates: text, sequenceLength: 77)
            #expect(relativeError(out, expected) <= 1e-4, "kernel path \(path)")
        }
    }
}
