import Foundation
import Testing
@testable import Sampling

/// Each scheduler × spacing × prediction type against diffusers 0.42.1 (fixtures/generate_sampling.py): SD 1.5's
/// scheduler config loaded with from_config, initial latents from the seeded generator times init_noise_sigma, then
/// every step on stored model outputs, with the same generator passed to step() (DDPM noise, DDIM η > 0).
/// Tolerance: timesteps exact; σ, init_noise_sigma and every latent within 1e-5 relative (|a − b| ≤ 1e-5 · max(|b|, 1)).
/// Not 1e-6: torch (2.15, MKL build) evaluates `x ** 0.5`, `sqrt`, `exp`, `log` on Float32 tensors, even 0-d ones,
/// with MKL's vector math, which is not correctly rounded (`torch.sqrt` differs from the correctly rounded square root
/// by 1 ulp on ~25% of inputs, with any ATEN_CPU_CAPABILITY); we round correctly. The scalar coefficients therefore
/// differ by an ulp now and then, and the error grows with the number of steps: all but two cases agree within 1e-6;
/// the 7-step DDPM case reaches 1.1e-6 and the 16-step DPM-Solver++ (sigma_min) case 3.2e-6.
@Suite struct SchedulerGoldenTests {
    static let tolerance: Float = 1e-5

    static func configuration(_ base: [String: JSONValue], _ overrides: [String: JSONValue]) throws -> SchedulerConfiguration {
        let merged = base.merging(overrides) { $1 }
        return try SchedulerConfiguration.decode(JSONEncoder().encode(merged))
    }

    static func close(_ a: [Float], _ b: [Float]) -> (ok: Bool, worst: Float) {
        guard a.count == b.count else { return (false, .infinity) }
        var worst: Float = 0
        for (x, y) in zip(a, b) {
            let e = abs(x - y) / max(abs(y), 1)
            if !(e <= worst) { worst = e }  // NaN counts as worst
        }
        return (worst <= tolerance, worst)
    }

    @Test func everyCaseMatchesDiffusers() throws {
        let goldens = try SamplingFixtures.schedulers()
        #expect(goldens.cases.count >= 40)
        var seen = Set<String>()
        for (n, c) in goldens.cases.enumerated() {
            let label = "case \(n) \(c.scheduler) \(c.config.keys.sorted()) steps \(c.steps)"
            let kind = try #require(SamplerKind(rawValue: c.scheduler))
            seen.insert(c.scheduler)
            var scheduler = try kind.makeScheduler(
                configuration: Self.configuration(goldens.base_config, c.config), steps: c.steps, eta: c.eta)
            #expect(scheduler.timesteps == c.timesteps, "\(label): timesteps")
            #expect(Self.close([scheduler.initNoiseSigma], [Float(c.init_noise_sigma)]).ok, "\(label): init_noise_sigma")
            if let sigmas = c.sigmas {
                let ours: [Float] = (scheduler as? EulerDiscreteScheduler)?.sigmas ?? (scheduler as? DPMSolverMultistepScheduler)?.sigmas ?? []
                #expect(Self.close(ours, sigmas.map(Float.init)).ok, "\(label): sigmas")
            }
            var generator = TorchGenerator(seed: c.seed)
            var latents = generator.randn(shape: c.shape).map { $0 * scheduler.initNoiseSigma }
            #expect(Self.close(latents, SamplingFixtures.decode(c.latents)).ok, "\(label): initial latents")
            for (i, step) in c.trajectory.enumerated() {
                let input = scheduler.scaleModelInput(latents, step: i)
                let inputCheck = Self.close(input, SamplingFixtures.decode(step.model_input))
                #expect(inputCheck.ok, "\(label) step \(i): model input off by \(inputCheck.worst)")
                latents = try scheduler.step(
                    modelOutput: SamplingFixtures.decode(step.model_output), step: i, sample: latents, generator: &generator)
                let check = Self.close(latents, SamplingFixtures.decode(step.prev_sample))
                #expect(check.ok, "\(label) step \(i): prev_sample off by \(check.worst) (relative)")
            }
        }
        #expect(seen == Set(SamplerKind.allCases.map(\.rawValue)))
    }

    @Test func guidanceCombinesTheTwoPredictions() {
        let u: [Float] = [1, -2, 0.5], c: [Float] = [2, 0, 0.5]
        #expect(classifierFreeGuidance(unconditional: u, conditional: c, scale: 7.5) == [8.5, 13, 0.5])
        #expect(classifierFreeGuidance(unconditional: u, conditional: c, scale: 1) == c)
    }

    @Test func badConfigurationsAreRefusedByName() throws {
        func refuse(_ json: String, _ kind: SamplerKind = .ddim, steps: Int = 4) -> String {
            do {
                _ = try kind.makeScheduler(configuration: SchedulerConfiguration.decode(Data(json.utf8)), steps: steps)
                return "accepted"
            } catch { return (error as? LocalizedError)?.errorDescription ?? "\(error)" }
        }
        #expect(refuse(#"{"beta_schedule": "sigmoid"}"#).contains("beta_schedule = sigmoid"))
        #expect(refuse(#"{"timestep_spacing": "karras"}"#, .euler).contains("timestep_spacing"))
        #expect(refuse(#"{"use_karras_sigmas": true}"#, .dpmSolverPlusPlus).contains("use_karras_sigmas"))
        #expect(refuse(#"{"algorithm_type": "sde-dpmsolver++"}"#, .dpmSolverPlusPlus).contains("algorithm_type"))
        #expect(refuse(#"{"num_train_timesteps": "many"}"#).contains("num_train_timesteps"))
        #expect(refuse(#"{}"#, steps: 0).contains("between 1 and"))
        #expect(refuse(#"{}"#, steps: 1001).contains("between 1 and"))
        #expect(refuse(#"[1, 2]"#).contains("invalid"))
        // leading spacing + steps_offset 1 with 1000 steps reaches t = 1000 (diffusers: IndexError)
        #expect(refuse(#"{"steps_offset": 1}"#, .ddpm, steps: 1000).contains("reach timestep 1000"))
        #expect(refuse(#"{"steps_offset": 1}"#, .ddim, steps: 1000).contains("reach timestep 1000"))
        #expect(refuse(#"{"steps_offset": 1, "timestep_spacing": "leading"}"#, .dpmSolverPlusPlus, steps: 999).contains("reach timestep 1000"))
        #expect(refuse(#"{"steps_offset": 1}"#, .ddpm, steps: 999) == "accepted")
    }
}
