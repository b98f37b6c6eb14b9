import Foundation
import Registry
import Sampling

/// `concepts generate`: text-to-image on a stored base with concepts applied, the way diffusers'
/// `StableDiffusionPipeline.__call__` (0.42) runs it, image by image (seed S, S+1, … for `--count`):
///
///     latents = randn([1, C, H/f, W/f], Generator().manual_seed(seed)) · init_noise_sigma
///     for i, t in timesteps:
///         x = scale_model_input(latents, t)
///         ε_u, ε_c = unet([x, x], t, [negative, prompt])            (one batch of 2; only ε_c when guidance ≤ 1)
///         latents = step(ε_u + s (ε_c − ε_u), t, latents, generator)
///     image = vae.decode(latents / scaling_factor) → (x/2 + ½) clamped, ×255, rounded → PNG
///
/// ``prepare(_:store:backend:)`` does every check and load that can fail before the loop starts.
public final class GenerationPipeline {
    public struct Result: Codable, Sendable {
        public struct Concept: Codable, Sendable { public let reference: String; public let version: String }
        public var files: [String]
        public var seed: UInt64
        public var seconds: Double
        public var secondsPerStep: Double
        public var concepts: [Concept]
        public var compositionID: String?

        enum CodingKeys: String, CodingKey {
            case files, seed, seconds, concepts
            case secondsPerStep = "seconds_per_step"
            case compositionID = "composition_id"
        }
    }

    /// Reported after every denoising step.
    public struct Progress: Sendable {
        public let image: Int
        public let images: Int
        public let step: Int
        public let steps: Int
        public let secondsPerStep: Double
    }

    public let request: GenerationRequest
    public let configuration: PipelineConfiguration
    public let concepts: ConceptWeights
    public let text: TextConditioning
    public let width: Int
    public let height: Int
    /// Tokens of the applied concepts missing from the prompt (the CLI warns about each).
    public let tokensMissingFromPrompt: [String]
    let unet: any NoisePredictor
    let decoder: any LatentDecoder
    let start: UInt64

    /// Validates the request against the store and loads everything: options, output path, base files,
    /// scheduler (built once to check the config and step count), concepts, text encoder, UNet (with the concept
    /// weights set) and VAE decoder. Nothing is sampled and nothing is written.
    public init(prepare request: GenerationRequest, store: Store, backend: any DiffusionBackend) throws {
        start = DispatchTime.now().uptimeNanoseconds
        try request.validateOptions()
        try request.checkOutputWritable()
        let configuration = try PipelineConfiguration.load(store: store, base: request.base)
        let factor = configuration.vaeScaleFactor
        let native = configuration.sampleSize * factor
        let (w, h) = request.size ?? (native, native)
        guard w % factor == 0, h % factor == 0 else {
            throw GenerationError.invalidSize("\(w)x\(h): base '\(request.base)' needs multiples of \(factor) (its VAE's factor)")
        }
        _ = try request.sampler.makeScheduler(configuration: configuration.scheduler, steps: request.steps, eta: request.eta)
        let concepts = try ConceptWeights.resolve(store: store, base: request.base, references: request.concepts,
                                                  regset: request.regset, compositionID: request.compositionID)
        let text = try TextConditioning(store: store, base: request.base, tokens: concepts.tokens)
        let unet = try backend.makeUNet(configuration: configuration.unetConfig,
                                        weights: BaseComponentWeights(store: store, base: request.base, component: "unet"))
        for layer in concepts.layers {
            try unet.setCrossAttentionWeights(layer: layer.layer, key: layer.key.storage, value: layer.value.storage)
        }
        let decoder = try backend.makeDecoder(configuration: configuration.vaeConfig,
                                              weights: BaseComponentWeights(store: store, base: request.base, component: "vae"))
        self.request = request
        self.configuration = configuration
        self.concepts = concepts
        self.text = text
        self.unet = unet
        self.decoder = decoder
        width = w
        height = h
        tokensMissingFromPrompt = text.tokensMissing(from: request.prompt)
    }

    /// Samples every image and writes its PNG (temporary file, then rename). `progress` is called after each step.
    public func run(progress: (Progress) -> Void = { _ in }) throws -> Result {
        let files = request.outputFiles
        let features = try text.encode([request.negativePrompt, request.prompt])
        let guided = request.guidance > 1
        let conditioning = guided ? features[0] + features[1] : features[1]
        let (c, lh, lw) = (configuration.latentChannels, height / configuration.vaeScaleFactor, width / configuration.vaeScaleFactor)
        var stepSeconds: [Double] = []
        for (n, file) in files.enumerated() {
            let seed = request.seed + UInt64(n)
            var scheduler = try request.sampler.makeScheduler(configuration: configuration.scheduler, steps: request.steps, eta: request.eta)
            var generator = TorchGenerator(seed: seed)
            var latents = generator.randn(count: c * lh * lw).map { $0 * scheduler.initNoiseSigma }
            for (i, t) in scheduler.timesteps.enumerated() {
                let stepStart = DispatchTime.now().uptimeNanoseconds
                let input = scheduler.scaleModelInput(latents, step: i)
                let prediction: [Float]
                if guided {
                    let both = try unet.predict(latents: input + input, batch: 2, height: lh, width: lw, timestep: t,
                                                encoderHiddenStates: conditioning, sequenceLength: TextConditioning.sequenceLength)
                    prediction = classifierFreeGuidance(unconditional: Array(both[..<input.count]), conditional: Array(both[input.count...]),
                                                        scale: Float(request.guidance))
                } else {
                    prediction = try unet.predict(latents: input, batch: 1, height: lh, width: lw, timestep: t,
                                                  encoderHiddenStates: conditioning, sequenceLength: TextConditioning.sequenceLength)
                }
                latents = try scheduler.step(modelOutput: prediction, step: i, sample: latents, generator: &generator)
                stepSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9)
                progress(Progress(image: n + 1, images: files.count, step: i + 1, steps: scheduler.timesteps.count,
                                  secondsPerStep: stepSeconds.reduce(0, +) / Double(stepSeconds.count)))
            }
            let pixels = try decoder.decodeToRGB8(latents: latents, batch: 1, height: lh, width: lw)
            let parameters = GenerationParameters(
                prompt: request.prompt, negativePrompt: request.negativePrompt, steps: request.steps, sampler: request.sampler.displayName,
                guidance: request.guidance, seed: seed, width: width, height: height, base: request.base,
                concepts: concepts.applied.map(\.version), eta: request.sampler == .ddim ? request.eta : nil)
            try PNGImage(width: width, height: height, pixels: pixels, text: [("parameters", parameters.text)]).write(atomicallyTo: file)
        }
        return Result(files: files.map(\.path), seed: request.seed,
                      seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
                      secondsPerStep: stepSeconds.isEmpty ? 0 : stepSeconds.reduce(0, +) / Double(stepSeconds.count),
                      concepts: concepts.applied.map { .init(reference: $0.reference, version: $0.version) },
                      compositionID: concepts.compositionID)
    }
}

/// The backend used when no UNet/VAE implementation is linked: every base is refused with this message, after all
/// other checks passed.
public struct UnavailableBackend: DiffusionBackend {
    public init() {}
    public func makeUNet(configuration: Data, weights: BaseComponentWeights) throws -> any NoisePredictor {
        throw GenerationError.modelUnavailable("this build has no UNet/VAE implementation (the DiffusionModels module)")
    }
    public func makeDecoder(configuration: Data, weights: BaseComponentWeights) throws -> any LatentDecoder {
        throw GenerationError.modelUnavailable("this build has no UNet/VAE implementation (the DiffusionModels module)")
    }
}
