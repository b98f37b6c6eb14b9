import CustomDiffusion
import Foundation
import Testing
@testable import Generation
import Registry
import Sampling

/// The pipeline around the networks, with stand-in networks (the real UNet/VAE parity is GenerationParityTests):
/// concepts applied, text conditioning, the loop's wiring (initial noise, CFG order, generator shared with the
/// scheduler), PNG files and their parameters.
@Suite(.serialized) struct GenerationPipelineTests {
    func request(_ t: GenerationStore, _ prompt: String, file: String = "out.png") -> GenerationRequest {
        GenerationRequest(prompt: prompt, base: "tiny", seed: 1234, output: t.scratch.appendingPathComponent(file))
    }

    @Test func twoConceptsAreComposedAppliedAndSampled() throws {
        let t = try GenerationStore()
        var r = request(t, "a <new1> cat and a <new1-dog> dog")
        r.concepts = ["cat", "dog"]
        r.steps = 3
        r.sampler = .ddpm  // draws noise from the generator at every step
        r.guidance = 6
        let backend = StandInBackend()
        let pipeline = try GenerationPipeline(prepare: r, store: t.store, backend: backend)
        #expect(pipeline.concepts.applied.map(\.version) == ["cat@1", "dog@1"])
        #expect(pipeline.concepts.tokens.map(\.name) == ["<new1>", "<new1-dog>"])
        #expect(pipeline.tokensMissingFromPrompt.isEmpty)
        let unet = try #require(backend.unet)
        // All 16 cross-attention layers got the composition's W′ (what `compose --format diffusers` exports).
        #expect(unet.layers.count == 16)
        let exported = t.root.appendingPathComponent("export")
        _ = try t.store.compose(ComposeRequest(references: ["cat", "dog"], format: .diffusers, output: exported))
        let checkpoint = try ConceptCheckpoint.read(path: exported)
        for (key, weight) in checkpoint.weights {
            guard case .full(let w) = weight, let set = unet.layers[key.layer] else { Issue.record("missing \(key)"); continue }
            #expect((key.projection == .key ? set.key : set.value) == w.storage, "\(key)")
        }

        let result = try pipeline.run()
        #expect(result.files == [r.output.path])
        #expect(result.concepts.map(\.version) == ["cat@1", "dog@1"])
        #expect(result.compositionID != nil)
        #expect(unet.calls.map(\.batch) == [2, 2, 2])

        // The same loop written out: randn · σ_init, ε = ε_u + s(ε_c − ε_u), step with the same generator.
        let features = try pipeline.text.encode(["", r.prompt])
        var scheduler = try SamplerKind.ddpm.makeScheduler(configuration: pipeline.configuration.scheduler, steps: 3)
        #expect(unet.calls.map(\.timestep) == scheduler.timesteps)
        var generator = TorchGenerator(seed: 1234)
        let (lh, lw) = (pipeline.height / pipeline.configuration.vaeScaleFactor, pipeline.width / pipeline.configuration.vaeScaleFactor)
        var x = generator.randn(count: 4 * lh * lw).map { $0 * scheduler.initNoiseSigma }
        for i in 0..<3 {
            let u = StandInUNet.epsilon(x, text: features[0][...]), c = StandInUNet.epsilon(x, text: features[1][...])
            x = try scheduler.step(modelOutput: classifierFreeGuidance(unconditional: u, conditional: c, scale: 6), step: i, sample: x, generator: &generator)
        }
        #expect(try #require(backend.decoder).lastLatents == x)

        let png = try PNGImage.read(from: r.output)
        #expect(png.width == pipeline.width && png.height == pipeline.height)
        #expect(png.text.first?.key == "parameters")
        #expect(png.text.first?.value == """
            a <new1> cat and a <new1-dog> dog
            Steps: 3, Sampler: DDPM, CFG scale: 6, Seed: 1234, Size: \(pipeline.width)x\(pipeline.height), Model: tiny, Concepts: cat@1, dog@1
            """)
    }

    @Test func countWritesNumberedFilesWithConsecutiveSeeds() throws {
        let t = try GenerationStore(concepts: false)
        var r = request(t, "a photo", file: "batch.png")
        r.count = 2
        r.steps = 2
        let pipeline = try GenerationPipeline(prepare: r, store: t.store, backend: StandInBackend())
        let result = try pipeline.run()
        #expect(result.files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["batch-1.png", "batch-2.png"])
        let first = try PNGImage.read(from: URL(fileURLWithPath: result.files[0]))
        let second = try PNGImage.read(from: URL(fileURLWithPath: result.files[1]))
        #expect(first.pixels != second.pixels)
        #expect(first.text.first?.value.contains("Seed: 1234,") == true)
        #expect(second.text.first?.value.contains("Seed: 1235,") == true)
        // Seed 1235 alone gives the second image again.
        var single = request(t, "a photo", file: "single.png")
        single.seed = 1235
        single.steps = 2
        _ = try GenerationPipeline(prepare: single, store: t.store, backend: StandInBackend()).run()
        #expect(try PNGImage.read(from: single.output).pixels == second.pixels)
        #expect(!FileManager.default.fileExists(atPath: t.scratch.appendingPathComponent("batch.png").path))
    }

    @Test func singleConceptUsesItsOwnWeightsAndWarnsAboutAMissingToken() throws {
        let t = try GenerationStore()
        var r = request(t, "a photo of a cat")
        r.concepts = ["cat"]
        let backend = StandInBackend()
        let pipeline = try GenerationPipeline(prepare: r, store: t.store, backend: backend)
        #expect(pipeline.concepts.compositionID == nil)
        #expect(pipeline.concepts.tokens.map(\.name) == ["<new1>"])
        #expect(pipeline.tokensMissingFromPrompt == ["<new1>"])
        let exported = t.root.appendingPathComponent("cat-export")
        _ = try t.store.export(ConceptReference(parsing: "cat"), format: .diffusers, to: exported)
        let checkpoint = try ConceptCheckpoint.read(path: exported)
        let unet = try #require(backend.unet)
        for (key, weight) in checkpoint.weights {
            guard case .full(let w) = weight else { continue }
            #expect((key.projection == .key ? unet.layers[key.layer]?.key : unet.layers[key.layer]?.value) == w.storage)
        }
        #expect(checkpoint.tokens.first?.embedding == pipeline.concepts.tokens.first?.embedding)
    }

    @Test func aRecordedCompositionIsReusedById() throws {
        let t = try GenerationStore()
        let composed = try t.store.compose(ComposeRequest(references: ["cat", "dog"], output: t.root.appendingPathComponent("c")))
        var r = request(t, "a <new1> cat")
        r.compositionID = composed.compositionID
        let pipeline = try GenerationPipeline(prepare: r, store: t.store, backend: StandInBackend())
        #expect(pipeline.concepts.applied.map(\.version) == ["cat@1", "dog@1"])
        #expect(pipeline.tokensMissingFromPrompt == ["<new1-dog>"])
        var unknown = request(t, "a cat")
        unknown.compositionID = "0000"
        #expect(throws: RegistryError.unknownComposition("0000")) { try GenerationPipeline(prepare: unknown, store: t.store, backend: StandInBackend()) }
    }

    @Test func guidanceOfOneRunsOnlyTheConditionalBranch() throws {
        let t = try GenerationStore(concepts: false)
        var r = request(t, "a photo")
        r.guidance = 1
        r.steps = 2
        r.sampler = .euler
        let backend = StandInBackend()
        let pipeline = try GenerationPipeline(prepare: r, store: t.store, backend: backend)
        _ = try pipeline.run()
        let unet = try #require(backend.unet)
        #expect(unet.calls.map(\.batch) == [1, 1])
        // Euler (linspace spacing): timesteps 999 and 0 for 2 steps; the UNet gets x/√(σ²+1).
        #expect(unet.calls.map(\.timestep) == [999, 0])
        let features = try pipeline.text.encode(["a photo"])
        var scheduler = try SamplerKind.euler.makeScheduler(configuration: pipeline.configuration.scheduler, steps: 2)
        var generator = TorchGenerator(seed: 1234)
        let (lh, lw) = (pipeline.height / pipeline.configuration.vaeScaleFactor, pipeline.width / pipeline.configuration.vaeScaleFactor)
        var x = generator.randn(count: 4 * lh * lw).map { $0 * scheduler.initNoiseSigma }
        for i in 0..<2 {
            let e = StandInUNet.epsilon(scheduler.scaleModelInput(x, step: i), text: features[0][...])
            x = try scheduler.step(modelOutput: e, step: i, sample: x, generator: &generator)
        }
        #expect(try #require(backend.decoder).lastLatents == x)
    }
}
