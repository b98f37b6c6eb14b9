import Foundation

/// `EulerDiscreteScheduler` (Karras et al. 2022, Algorithm 2 with s_churn = 0), diffusers 0.42. Noise levels
/// σ(t) = √((1−ᾱ_t)/ᾱ_t) interpolated linearly at the (fractional) timesteps, then a final σ = 0 (`final_sigmas_type`
/// "zero") or σ₀ ("sigma_min"):
///
///     latents₀ = z · initNoiseSigma,   UNet input x/√(σ_i² + 1)
///     x̂₀ = x − σ_i ε  (epsilon)   or   v · (−σ_i/√(σ_i²+1)) + x/(σ_i²+1)  (v_prediction)
///     x_{i+1} = x + (x − x̂₀)/σ_i · (σ_{i+1} − σ_i)
///
/// `initNoiseSigma` is max σ for "linspace" and "trailing" spacing, √(max σ² + 1) for "leading".
public struct EulerDiscreteScheduler: Scheduler {
    public let timesteps: [Double]
    public let initNoiseSigma: Float
    /// σ_0 … σ_{N−1} and the final σ_N.
    public let sigmas: [Float]
    let prediction: PredictionType

    public init(configuration c: SchedulerConfiguration, steps n: Int) throws {
        try c.refuseUnsupportedCommon()
        let schedule = try NoiseSchedule(configuration: c)
        let train = schedule.trainTimesteps
        try checkSteps(n, train)
        prediction = try c.resolvedPrediction(allowSample: true)
        if let interpolation = c.interpolationType, interpolation != "linear" {
            throw SamplingError.unsupported(key: "interpolation_type", value: interpolation)
        }
        if c.timestepType == "continuous", prediction == .vPrediction {
            throw SamplingError.unsupported(key: "timestep_type", value: "continuous")
        }
        let spacing = try c.resolvedSpacing(default: .linspace)
        let offset = Float(c.stepsOffset ?? 0)
        let steps: [Float]
        switch spacing {
        case .linspace:
            steps = NumPy.linspace(0, Double(train - 1), n).map { Float($0) }.reversed()
        case .leading:
            let ratio = train / n
            steps = (0..<n).reversed().map { Float($0 * ratio) + offset }
        case .trailing:
            let ratio = Double(train) / Double(n)
            steps = NumPy.arange(Double(train), 0, -ratio).map { Float(NumPy.round($0)) - 1 }
        }
        let trainSigmas = schedule.sigmas
        let final: Float
        switch c.finalSigmasType ?? "zero" {
        case "zero": final = 0
        case "sigma_min": final = trainSigmas[0]
        case let other: throw SamplingError.unsupported(key: "final_sigmas_type", value: other)
        }
        let sigmas = steps.map { Float(NumPy.interp(Double($0), trainSigmas)) } + [final]
        self.sigmas = sigmas
        timesteps = steps.map(Double.init)
        // max over the set_timesteps sigmas (they include the final one)
        let maxSigma = sigmas.max() ?? 0
        initNoiseSigma = spacing == .leading ? (maxSigma * maxSigma + 1).squareRoot() : maxSigma
    }

    public func scaleModelInput(_ sample: [Float], step i: Int) -> [Float] {
        let sigma = sigmas[min(max(i, 0), sigmas.count - 1)]
        let scale = (sigma * sigma + 1).squareRoot()
        return sample.map { $0 / scale }
    }

    public mutating func step(modelOutput m: [Float], step i: Int, sample x: [Float], generator: inout TorchGenerator) throws -> [Float] {
        try checkStep(i, m, x)
        let sigma = sigmas[i]
        let sigmaHat = sigma * (0 + 1)  // γ = 0 (s_churn = 0): no noise is added, none is drawn
        let x0: [Float]
        switch prediction {
        case .epsilon:
            x0 = zip(x, m).map { $0 - sigmaHat * $1 }
        case .vPrediction:
            let c1 = -sigma / (sigma * sigma + 1).squareRoot(), c2 = sigma * sigma + 1
            x0 = zip(x, m).map { $1 * c1 + $0 / c2 }
        case .sample:
            x0 = m
        }
        let dt = sigmas[i + 1] - sigmaHat
        var out = [Float](repeating: 0, count: x.count)
        for k in out.indices {
            let derivative = (x[k] - x0[k]) / sigmaHat
            out[k] = x[k] + derivative * dt
        }
        return out
    }
}
