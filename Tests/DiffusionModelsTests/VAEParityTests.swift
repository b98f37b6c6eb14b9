import DiffusionModels
import Foundation
import Tensors
import Testing

/// The Swift VAE decoder against diffusers 0.42 (fixtures/sd-tiny/base/vae, goldens from
/// fixtures/generate_sd_tiny_vae_unet.py): the float image ≤ 1e-4 relative (‖·‖∞), the 8-bit image equal except
/// where diffusers' value sits within 1e-3 of a rounding boundary (there at most 1 off), on every kernel path.
@Suite(.serialized)
struct VAEParityTests {
    let goldens: [String: RawTensor]
    let decoder: AutoencoderKLDecoder

    init() throws {
        goldens = try Fixtures.goldens("vae.safetensors")
        let configuration = try VAEConfiguration.decode(Data(contentsOf: Fixtures.url("sd-tiny/base/vae/config.json")))
        decoder = try AutoencoderKLDecoder(configuration: configuration,
                                           weights: TensorDictionaryWeights(componentDirectory: Fixtures.url("sd-tiny/base/vae")))
    }

    @Test func scalingFactorFromConfig() {
        #expect(decoder.configuration.scalingFactor == 0.18215)
        #expect(decoder.scaleFactor == 8)
    }

    @Test func decodesLikeDiffusers() throws {
        let latents = try Fixtures.floats(goldens, "latents")
        let expected = try Fixtures.floats(goldens, "image")
        try onEveryKernelPath { path in
            let image = try decoder.decode(latents: latents, batch: 2, height: 4, width: 6)
            #expect(relativeError(image, expected) <= 1e-4, "kernel path \(path)")
        }
    }

    @Test func rgb8LikeDiffusersPostprocess() throws {
        let latents = try Fixtures.floats(goldens, "latents")
        let image = try Fixtures.floats(goldens, "image")
        guard let golden = goldens["rgb8"] else { throw Fixtures.FixtureError.missing("rgb8") }
        let expected = golden.bytes.withUnsafeBytes { Array($0) }
        #expect(golden.shape == [2, 32, 48, 3])
        try onEveryKernelPath { path in
            let rgb = try decoder.decodeToRGB8(latents: latents, batch: 2, height: 4, width: 6)
            #expect(rgb.count == expected.count)
            var exact = 0
            for i in rgb.indices {
                if rgb[i] == expected[i] { exact += 1; continue }
                // NHWC index → the NCHW float diffusers rounded
                let c = i % 3, p = (i / 3) % (32 * 48), b = i / (3 * 32 * 48)
                let v = min(max(image[(b * 3 + c) * 32 * 48 + p] / 2 + 0.5, 0), 1) * 255
                let nearBoundary = abs(v - v.rounded(.down) - 0.5) < 1e-3 * 255
                #expect(nearBoundary && abs(Int(rgb[i]) - Int(expected[i])) <= 1, "kernel path \(path), byte \(i)")
            }
            #expect(exact >= rgb.count - 4, "kernel path \(path)")
        }
    }
}
