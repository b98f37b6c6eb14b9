import Foundation

/// A diffusion sampler as diffusers' `StableDiffusionPipeline` drives it:
///
///     latents = randn(shape, generator) · initNoiseSigma
///     for i, t in timesteps:  ε = unet(scaleModelInput(latents, i), t, text);  latents = step(ε, i, latents, generator)
///
/// Samples are flat Float32 arrays (NCHW, any batch); every operation is elementwise, in torch's order of Float32
/// operations. `step` index i is diffusers' `step_index` (the position of t in `timesteps`).
public protocol Scheduler: Sendable {
    /// The timesteps handed to the UNet, in order (integers for DDPM, DDIM, DPM-Solver; Float32 values for Euler).
    var timesteps: [Double] { get }
    /// The standard deviation of the initial latents (`init_noise_sigma`).
    var initNoiseSigma: Float { get }
    /// The UNet input at step i (`scale_model_input`).
    func scaleModelInput(_ sample: [Float], step i: Int) -> [Float]
    /// One denoising update x_t → x_{t−1}; schedulers that add noise draw it from `generator` with one `randn` of
    /// the sample's size, as diffusers' `randn_tensor(model_output.shape, generator=generator)` does.
    mutating func step(modelOutput: [Float], step i: Int, sample: [Float], generator: inout TorchGenerator) throws -> [Float]
}

extension Scheduler {
    public func scaleModelInput(_ sample: [Float], step i: Int) -> [Float] { sample }

    func checkStep(_ i: Int, _ modelOutput: [Float], _ sample: [Float]) throws {
        guard timesteps.indices.contains(i) else { throw SamplingError.stepOutOfRange(i, count: timesteps.count) }
        guard modelOutput.count == sample.count else {
            throw SamplingError.sizeMismatch("model output", expected: sample.count, got: modelOutput.count)
        }
    }
}

/// The samplers of `concepts generate --scheduler`.
public enum SamplerKind: String, Sendable, CaseIterable {
    case dpmSolverPlusPlus = "dpm++"
    case ddim
    case ddpm
    case euler

    /// The name written into the PNG's parameters (the names the common UIs use).
    public var displayName: String {
        switch self {
        case .dpmSolverPlusPlus: return "DPM++ 2M"
        case .ddim: return "DDIM"
        case .ddpm: return "DDPM"
        case .euler: return "Euler"
        }
    }

    /// `<Scheduler>.from_config(base scheduler config)` then `set_timesteps(steps)`; `eta` is DDIM's η.
    public func makeScheduler(configuration: SchedulerConfiguration, steps: Int, eta: Double = 0) throws -> any Scheduler {
        switch self {
        case .dpmSolverPlusPlus: return try DPMSolverMultistepScheduler(configuration: configuration, steps: steps)
        case .ddim: return try DDIMScheduler(configuration: configuration, steps: steps, eta: eta)
        case .ddpm: return try DDPMScheduler(configuration: configuration, steps: steps)
        case .euler: return try EulerDiscreteScheduler(configuration: configuration, steps: steps)
        }
    }
}

/// Classifier-free guidance (Ho & Salimans 2022), as the pipeline writes it:
/// ε = ε_u + s (ε_c − ε_u), with ε_u the prediction for the negative prompt and ε_c for the prompt.
public func classifierFreeGuidance(unconditional: [Float], conditional: [Float], scale: Float) -> [Float] {
    var out = [Float](repeating: 0, count: unconditional.count)
    for i in out.indices {
        out[i] = unconditional[i] + scale * (conditional[i] - unconditional[i])
    }
    return out
}

func checkSteps(_ steps: Int, _ train: Int) throws {
    guard steps >= 1, steps <= train else { throw SamplingError.invalidStepCount(steps, trainTimesteps: train) }
}
