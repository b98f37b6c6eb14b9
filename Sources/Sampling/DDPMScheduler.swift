import Foundation

/// `DDPMScheduler` (Ho et al. 2020, the paper's sampler), diffusers 0.42. With ᾱ_t, ᾱ_p of the current and previous
/// timestep (ᾱ_p = 1 past the end), β_t = 1 − ᾱ_t/ᾱ_p:
///
///     x̂₀ = (x_t − √(1−ᾱ_t) ε)/√ᾱ_t   (epsilon)   or   √ᾱ_t x_t − √(1−ᾱ_t) v   (v_prediction), clipped if clip_sample
///     μ  = (√ᾱ_p β_t)/(1−ᾱ_t) · x̂₀ + (√(α_t) (1−ᾱ_p))/(1−ᾱ_t) · x_t            (Eq. 7)
///     x_{t−1} = μ + σ_t z,  σ_t² = max((1−ᾱ_p)/(1−ᾱ_t) β_t, 1e−20) ("fixed_small"), z ~ N(0, I) for t > 0
///
/// The previous timestep is the next entry of `timesteps` (`previous_timestep`), −1 after the last.
public struct DDPMScheduler: Scheduler {
    public let timesteps: [Double]
    public let initNoiseSigma: Float = 1
    let integerSteps: [Int]
    let schedule: NoiseSchedule
    let prediction: PredictionType
    let clipRange: Float?
    let variance: Variance

    enum Variance: String { case fixedSmall = "fixed_small", fixedSmallLog = "fixed_small_log", fixedLarge = "fixed_large" }

    public init(configuration c: SchedulerConfiguration, steps: Int) throws {
        try c.refuseUnsupportedCommon()
        schedule = try NoiseSchedule(configuration: c)
        try checkSteps(steps, schedule.trainTimesteps)
        prediction = try c.resolvedPrediction(allowSample: true)
        clipRange = (c.clipSample ?? true) ? Float(c.clipSampleRange ?? 1) : nil
        let name = c.varianceType ?? "fixed_small"
        guard let v = Variance(rawValue: name) else { throw SamplingError.unsupported(key: "variance_type", value: name) }
        variance = v
        integerSteps = try integerTimesteps(
            steps: steps, train: schedule.trainTimesteps, spacing: try c.resolvedSpacing(default: .leading), offset: c.stepsOffset ?? 0)
        timesteps = integerSteps.map(Double.init)
    }

    public mutating func step(modelOutput: [Float], step i: Int, sample: [Float], generator: inout TorchGenerator) throws -> [Float] {
        try checkStep(i, modelOutput, sample)
        let t = integerSteps[i]
        let prev = i + 1 < integerSteps.count ? integerSteps[i + 1] : -1
        let alphaProd = schedule.alphasCumprod[t]
        let alphaProdPrev = schedule.alphaProduct(prev, final: 1)
        let betaProd = 1 - alphaProd
        let betaProdPrev = 1 - alphaProdPrev
        let currentAlpha = alphaProd / alphaProdPrev
        let currentBeta = 1 - currentAlpha

        var x0 = predictOriginal(modelOutput, sample, alphaProd: alphaProd, betaProd: betaProd)
        if let r = clipRange { x0 = x0.map { min(max($0, -r), r) } }

        let x0Coefficient = (alphaProdPrev.squareRoot() * currentBeta) / betaProd
        let sampleCoefficient = currentAlpha.squareRoot() * betaProdPrev / betaProd
        var out = [Float](repeating: 0, count: sample.count)
        for k in out.indices { out[k] = x0Coefficient * x0[k] + sampleCoefficient * sample[k] }

        if t > 0 {
            let noise = generator.randn(count: sample.count)
            var v = max((1 - alphaProdPrev) / (1 - alphaProd) * currentBeta, 1e-20)
            switch variance {
            case .fixedSmall: v = v.squareRoot()
            case .fixedSmallLog: v = exp(0.5 * log(v))
            case .fixedLarge: v = currentBeta.squareRoot()
            }
            for k in out.indices { out[k] = out[k] + v * noise[k] }
        }
        return out
    }

    func predictOriginal(_ m: [Float], _ x: [Float], alphaProd: Float, betaProd: Float) -> [Float] {
        let sa = alphaProd.squareRoot(), sb = betaProd.squareRoot()
        switch prediction {
        case .epsilon: return zip(x, m).map { ($0 - sb * $1) / sa }
        case .vPrediction: return zip(x, m).map { sa * $0 - sb * $1 }
        case .sample: return m
        }
    }
}
