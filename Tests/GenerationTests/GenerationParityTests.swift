#if canImport(DiffusionModels)
import CustomDiffusion
import DiffusionModels
import Foundation
import Testing
@testable import Generation
import Registry
import Sampling

/// Whole generations on the tiny pipeline with the cat and dog concepts composed, against diffusers 0.42.1's
/// StableDiffusionPipeline (fixtures/generate_generation.py): the same 8-bit image, or at most 1/255 off on any
/// channel. The composition the pipeline makes must also equal the export the goldens were drawn with.
@Suite(.serialized) struct GenerationParityTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            let name: String, png: String, scheduler: String, steps: Int, guidance: Double, seed: UInt64
            let width: Int, height: Int, prompt: String, negative: String, eta: Double
        }
        let tokens: [String]
        let cases: [Case]
    }

    static let directory = packageRoot.appendingPathComponent("fixtures/generation/pipeline")

    @Test func composedConceptsGiveDiffusersImages() throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Self.directory.appendingPathComponent("golden.json")))
        #expect(golden.cases.count >= 2)
        let t = try GenerationStore()
        // The composition equals the committed export the goldens used.
        let exported = t.root.appendingPathComponent("composed")
        _ = try t.store.compose(ComposeRequest(references: ["cat", "dog"], format: .diffusers, output: exported))
        let ours = try ConceptCheckpoint.read(path: exported), committed = try ConceptCheckpoint.read(path: Self.directory.appendingPathComponent("composed"))
        #expect(ours.tokens.map(\.name).sorted() == golden.tokens.sorted())
        for (key, weight) in committed.weights {
            guard case .full(let a) = weight, case .full(let b)? = ours.weights[key] else { Issue.record("\(key)"); continue }
            let worst = zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "\(key): composed weights drifted by \(worst)")
        }
        let goldenLatents = try TensorDictionaryWeights(safetensorsPath: Self.directory.appendingPathComponent("latents.safetensors").path)
        for c in golden.cases {
            var r = GenerationRequest(prompt: c.prompt, base: "tiny", seed: c.seed, output: t.scratch.appendingPathComponent("\(c.name).png"))
            r.concepts = ["cat", "dog"]
            r.negativePrompt = c.negative
            r.steps = c.steps
            r.guidance = c.guidance
            r.sampler = try #require(SamplerKind(rawValue: c.scheduler))
            r.eta = c.eta
            r.size = (c.width, c.height)
            let backend = RecordingBackend()
            _ = try GenerationPipeline(prepare: r, store: t.store, backend: backend).run()
            // Diagnostic: how far the final latents are from diffusers' (the image is what is asserted).
            let reference = try goldenLatents.tensor(named: c.name).floats()
            let latentError = zip(backend.latents, reference).map { abs($0 - $1) }.max() ?? .infinity
            let image = try PNGImage.read(from: r.output)
            let golden = try PNGImage.read(from: Self.directory.appendingPathComponent(c.png))
            #expect(image.width == golden.width && image.height == golden.height)
            let differences = zip(image.pixels, golden.pixels).map { abs(Int($0) - Int($1)) }
            let worst = differences.max() ?? 255
            #expect(worst <= 1, "\(c.name): \(differences.filter { $0 > 0 }.count) channels differ, by up to \(worst)/255 (latents off by up to \(latentError))")
        }
    }
}

/// The real networks, with the latents handed to the VAE recorded.
final class RecordingBackend: DiffusionBackend, @unchecked Sendable {
    // @unchecked: used from one test thread only.
    var latents: [Float] = []
    final class Decoder: LatentDecoder {
        let inner: any LatentDecoder
        let owner: RecordingBackend
        init(_ inner: any LatentDecoder, _ owner: RecordingBackend) { self.inner = inner; self.owner = owner }
        func decodeToRGB8(latents: [Float], batch: Int, height: Int, width: Int) throws -> [UInt8] {
            owner.latents = latents
            return try inner.decodeToRGB8(latents: latents, batch: batch, height: height, width: width)
        }
    }
    func makeUNet(configuration: Data, weights: BaseComponentWeights) throws -> any NoisePredictor {
        try DiffusionModelsBackend().makeUNet(configuration: configuration, weights: weights)
    }
    func makeDecoder(configuration: Data, weights: BaseComponentWeights) throws -> any LatentDecoder {
        Decoder(try DiffusionModelsBackend().makeDecoder(configuration: configuration, weights: weights), self)
    }
}
#endif
