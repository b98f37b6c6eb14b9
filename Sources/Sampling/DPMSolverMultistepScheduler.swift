import Foundation

/// `DPMSolverMultistepScheduler` with `algorithm_type = "dpmsolver++"` (Lu et al. 2022, *DPM-Solver++*, Alg. 2:
/// the multistep second-order solver in data prediction, "DPM++ 2M"), diffusers 0.42. Per noise level σ:
/// α = 1/√(σ²+1), s = σ α, λ = ln α − ln s. With x̂₀ the data prediction at step i (kept for the next step),
/// h = λ_{i+1} − λ_i, r = (λ_i − λ_{i−1})/h:
///
///     first order:  x_{i+1} = (s_{i+1}/s_i) x − α_{i+1}(e^{−h} − 1) x̂₀,i
///     second order (midpoint): the same with D = x̂₀,i − ½ (x̂₀,i − x̂₀,i−1)/r in place of x̂₀,i
///     (heun: − α_{i+1}(e^{−h} − 1) D₀ + α_{i+1}((e^{−h} − 1)/h + 1) D₁)
///
/// The first step, and the last one (`lower_order_final` with fewer than 15 steps, `euler_at_final`, or
/// `final_sigmas_type = "zero"`), are first order; with `lower_order_final` and fewer than 15 steps the one before
/// the last is second order. Timesteps are integers; σ_i = σ(t_i), then a final 0 or σ₀.
public struct DPMSolverMultistepScheduler: Scheduler {
    public let timesteps: [Double]
    public let initNoiseSigma: Float = 1
    public let sigmas: [Float]
    let prediction: PredictionType
    let order: Int
    let heun: Bool
    let lowerOrderFinal: Bool
    let eulerAtFinal: Bool
    let finalIsZero: Bool
    var previousPrediction: [Float]?
    var lowerOrderCount = 0

    public init(configuration c: SchedulerConfiguration, steps n: Int) throws {
        try c.refuseUnsupportedCommon()
        let schedule = try NoiseSchedule(configuration: c)
        let train = schedule.trainTimesteps
        try checkSteps(n, train)
        prediction = try c.resolvedPrediction(allowSample: true)
        let algorithm = c.algorithmType ?? "dpmsolver++"
        guard algorithm == "dpmsolver++" else { throw SamplingError.unsupported(key: "algorithm_type", value: algorithm) }
        order = c.solverOrder ?? 2
        guard order == 1 || order == 2 else { throw SamplingError.unsupported(key: "solver_order", value: String(order)) }
        let solver = c.solverType ?? "midpoint"
        guard solver == "midpoint" || solver == "heun" else { throw SamplingError.unsupported(key: "solver_type", value: solver) }
        heun = solver == "heun"
        lowerOrderFinal = c.lowerOrderFinal ?? true
        eulerAtFinal = c.eulerAtFinal ?? false
        if let clip = c.lambdaMinClipped, clip > -Double.infinity {
            throw SamplingError.unsupported(key: "lambda_min_clipped", value: String(clip))
        }
        let offset = c.stepsOffset ?? 0
        var steps: [Int]
        switch try c.resolvedSpacing(default: .linspace) {
        case .linspace:
            steps = NumPy.linspace(0, Double(train - 1), n + 1).map { Int(NumPy.round($0)) }.reversed().dropLast()
        case .leading:
            let ratio = train / (n + 1)
            steps = (1...n).reversed().map { $0 * ratio + offset }
        case .trailing:
            let ratio = Double(train) / Double(n)
            steps = NumPy.arange(Double(train), 0, -ratio).map { Int(NumPy.round($0)) - 1 }
        }
        steps = try checkTimesteps(steps, train: train)
        let trainSigmas = schedule.sigmas
        let finalSigma: Float
        switch c.finalSigmasType ?? "zero" {
        case "zero": finalSigma = 0
        case "sigma_min": finalSigma = trainSigmas[0]
        case let other: throw SamplingError.unsupported(key: "final_sigmas_type", value: other)
        }
        finalIsZero = (c.finalSigmasType ?? "zero") == "zero"
        sigmas = steps.map { trainSigmas[$0] } + [finalSigma]
        timesteps = steps.map(Double.init)
    }

    /// (α, s) of a noise level σ (`_sigma_to_alpha_sigma_t`) and λ = ln α − ln s.
    static func alphaSigmaLambda(_ sigma: Float) -> (alpha: Float, sigma: Float, lambda: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        let s = sigma * alpha
        return (alpha, s, log(alpha) - log(s))
    }

    public mutating func step(modelOutput m: [Float], step i: Int, sample x: [Float], generator: inout TorchGenerator) throws -> [Float] {
        try checkStep(i, m, x)
        let n = timesteps.count
        let lastIsLowerOrder = i == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || finalIsZero)
        // `lower_order_second` (i == n − 2) selects the second-order update, which order 2 uses anyway.

        let (alphaS0, sigmaS0, lambdaS0) = Self.alphaSigmaLambda(sigmas[i])
        let x0: [Float]
        switch prediction {
        case .epsilon: x0 = zip(x, m).map { ($0 - sigmaS0 * $1) / alphaS0 }
        case .vPrediction: x0 = zip(x, m).map { alphaS0 * $0 - sigmaS0 * $1 }
        case .sample: x0 = m
        }
        let previous = previousPrediction
        previousPrediction = x0

        let (alphaT, sigmaT, lambdaT) = Self.alphaSigmaLambda(sigmas[i + 1])
        let h = lambdaT - lambdaS0
        let ratio = sigmaT / sigmaS0
        let coefficient = alphaT * (exp(-h) - 1)
        var out = [Float](repeating: 0, count: x.count)
        if order == 1 || lowerOrderCount < 1 || lastIsLowerOrder || previous == nil {
            for k in out.indices { out[k] = ratio * x[k] - coefficient * x0[k] }
        } else if let m1 = previous {
            let lambdaS1 = Self.alphaSigmaLambda(sigmas[i - 1]).lambda
            let r0 = (lambdaS0 - lambdaS1) / h
            let inverse = 1 / r0
            if heun {
                let c1 = alphaT * ((exp(-h) - 1) / h + 1)
                for k in out.indices {
                    let d1 = inverse * (x0[k] - m1[k])
                    out[k] = ratio * x[k] - coefficient * x0[k] + c1 * d1
                }
            } else {
                let half = 0.5 * coefficient
                for k in out.indices {
                    let d1 = inverse * (x0[k] - m1[k])
                    out[k] = ratio * x[k] - coefficient * x0[k] - half * d1
                }
            }
        }
        if lowerOrderCount < order { lowerOrderCount += 1 }
        return out
    }
}
