import Foundation

/// `DDIMScheduler` (Song et al. 2021, Eq. 12), diffusers 0.42, with ᾱ_t, ᾱ_p at t and p = t − T/N
/// (ᾱ_p = 1 if `set_alpha_to_one`, else ᾱ₀, before the first training step):
///
///     x̂₀, ε̂ from the model output (epsilon / v_prediction / sample), x̂₀ clipped if clip_sample
///     σ_t = η √((1−ᾱ_p)/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_p))
///     x_p = √ᾱ_p x̂₀ + √(1 − ᾱ_p − σ_t²) ε̂ + σ_t z,   z ~ N(0, I) drawn only when η > 0
public struct DDIMScheduler: Scheduler {
    public let timesteps: [Double]
    public let initNoiseSigma: Float = 1
    let integerSteps: [Int]
    let schedule: NoiseSchedule
    let prediction: PredictionType
    let clipRange: Float?
    let finalAlphaProduct: Float
    let stride: Int
    let eta: Float

    public init(configuration c: SchedulerConfiguration, steps: Int, eta: Double = 0) throws {
        try c.refuseUnsupportedCommon()
        schedule = try NoiseSchedule(configuration: c)
        try checkSteps(steps, schedule.trainTimesteps)
        guard eta >= 0, eta.isFinite else { throw SamplingError.unsupported(key: "eta", value: String(eta)) }
        prediction = try c.resolvedPrediction(allowSample: true)
        clipRange = (c.clipSample ?? true) ? Float(c.clipSampleRange ?? 1) : nil
        finalAlphaProduct = (c.setAlphaToOne ?? true) ? 1 : schedule.alphasCumprod[0]
        stride = schedule.trainTimesteps / steps
        self.eta = Float(eta)
        integerSteps = try integerTimesteps(
            steps: steps, train: schedule.trainTimesteps, spacing: try c.resolvedSpacing(default: .leading), offset: c.stepsOffset ?? 0)
        timesteps = integerSteps.map(Double.init)
    }

    public mutating func step(modelOutput m: [Float], step i: Int, sample x: [Float], generator: inout TorchGenerator) throws -> [Float] {
        try checkStep(i, m, x)
        let t = integerSteps[i]
        let prev = t - stride
        let alphaProd = schedule.alphasCumprod[t]
        let alphaProdPrev = schedule.alphaProduct(prev, final: finalAlphaProduct)
        let betaProd = 1 - alphaProd
        let sa = alphaProd.squareRoot(), sb = betaProd.squareRoot()

        var x0: [Float], epsilon: [Float]
        switch prediction {
        case .epsilon:
            x0 = zip(x, m).map { ($0 - sb * $1) / sa }
            epsilon = m
        case .vPrediction:
            x0 = zip(x, m).map { sa * $0 - sb * $1 }
            epsilon = zip(x, m).map { sa * $1 + sb * $0 }
        case .sample:
            x0 = m
            epsilon = zip(x, m).map { ($0 - sa * $1) / sb }
        }
        if let r = clipRange { x0 = x0.map { min(max($0, -r), r) } }

        let betaProdPrev = 1 - alphaProdPrev
        let variance = (betaProdPrev / betaProd) * (1 - alphaProd / alphaProdPrev)
        let sigma = eta * variance.squareRoot()
        let direction = (1 - alphaProdPrev - sigma * sigma).squareRoot()
        let sap = alphaProdPrev.squareRoot()
        var out = [Float](repeating: 0, count: x.count)
        for k in out.indices { out[k] = sap * x0[k] + direction * epsilon[k] }
        if eta > 0 {
            let noise = generator.randn(count: x.count)
            for k in out.indices { out[k] = out[k] + sigma * noise[k] }
        }
        return out
    }
}
