import CustomDiffusion
import Foundation
import TestSupport
@testable import Generation
import Registry
import Sampling
import TensorFormats
import Tensors

let sdTiny = packageRoot.appendingPathComponent("fixtures/sd-tiny")

/// A temporary store with the tiny base added as `tiny` and the cat and dog concepts registered.
final class GenerationStore {
    let root: URL
    let store: Store
    let scratch: URL

    init(concepts: Bool = true) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("generate-test-\(UUID().uuidString)")
        scratch = root.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        store = try Store(root: root.appendingPathComponent("store"), create: true)
        let base = sdTiny.appendingPathComponent("base")
        _ = try BaseModelImporter.add(name: "tiny", path: base, to: store)
        if concepts {
            for (name, fixture) in [("cat", "cat-diffusers"), ("dog", "dog-diffusers")] {
                _ = try ConceptRegistrar.register(
                    RegisterRequest(name: name, base: "tiny", path: sdTiny.appendingPathComponent("concepts/\(fixture)"), categories: [name],
                                    tokens: [], compression: try .init(parsing: "lossless"), tags: [], force: false), in: store)
            }
        }
    }

    deinit { try? FileManager.default.removeItem(at: root) }
}

/// A stand-in UNet: ε_b = 0.1 · x_b + 0.001 · Σ(first 8 features of the batch item's text), so the prediction
/// depends on the latents and on which text (negative or prompt) each batch item got. Records every call.
final class StandInUNet: NoisePredictor {
    var calls: [(batch: Int, timestep: Double)] = []
    var layers: [String: (key: [Float], value: [Float])] = [:]
    let textSize: Int

    init(textSize: Int) { self.textSize = textSize }

    static func epsilon(_ x: [Float], text: ArraySlice<Float>) -> [Float] {
        let bias = 0.001 * text.prefix(8).reduce(0, +)
        return x.map { 0.1 * $0 + bias }
    }

    func predict(latents: [Float], batch: Int, height: Int, width: Int, timestep: Double, encoderHiddenStates: [Float], sequenceLength: Int) throws -> [Float] {
        calls.append((batch, timestep))
        let n = latents.count / batch, t = encoderHiddenStates.count / batch
        precondition(t == sequenceLength * textSize)
        return (0..<batch).flatMap { b in
            Self.epsilon(Array(latents[(b * n)..<((b + 1) * n)]), text: encoderHiddenStates[(b * t)..<((b + 1) * t)])
        }
    }

    func setCrossAttentionWeights(layer: String, key: [Float], value: [Float]) throws { layers[layer] = (key, value) }
}

/// A stand-in decoder: pixel (y, x) channel c = latent channel c at (y/f, x/f) mapped through tanh to 0…255.
final class StandInDecoder: LatentDecoder {
    var lastLatents: [Float] = []
    let factor: Int
    init(factor: Int) { self.factor = factor }

    func decodeToRGB8(latents: [Float], batch: Int, height: Int, width: Int) throws -> [UInt8] {
        lastLatents = latents
        let (H, W) = (height * factor, width * factor)
        var out = [UInt8](repeating: 0, count: batch * H * W * 3)
        for y in 0..<H { for x in 0..<W { for c in 0..<3 {
            let v = latents[(c * height + y / factor) * width + x / factor]
            out[(y * W + x) * 3 + c] = UInt8(((tanh(v) + 1) * 127.5).rounded())
        } } }
        return out
    }
}

final class StandInBackend: DiffusionBackend, @unchecked Sendable {
    // @unchecked: used from one test thread only.
    var unet: StandInUNet?
    var decoder: StandInDecoder?
    func makeUNet(configuration: Data, weights: BaseComponentWeights) throws -> any NoisePredictor {
        guard expectWeightsOf(weights, "unet") else { throw GenerationError.modelUnavailable("wrong unet weights") }
        let u = StandInUNet(textSize: 32)
        unet = u
        return u
    }
    func makeDecoder(configuration: Data, weights: BaseComponentWeights) throws -> any LatentDecoder {
        guard expectWeightsOf(weights, "vae") else { throw GenerationError.modelUnavailable("wrong vae weights") }
        struct Fields: Decodable { let block_out_channels: [Int] }
        let blocks = try JSONDecoder().decode(Fields.self, from: configuration).block_out_channels.count
        let d = StandInDecoder(factor: 1 << (blocks - 1))
        decoder = d
        return d
    }
}

/// The backend is handed the right component of the right base.
func expectWeightsOf(_ weights: BaseComponentWeights, _ component: String) -> Bool {
    weights.component == component && weights.base == "tiny" && !weights.tensorNames.isEmpty
}
