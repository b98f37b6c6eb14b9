import Foundation

/// The training noise schedule shared by every scheduler, in Float32 exactly as diffusers builds it with torch:
/// β from `beta_schedule`, α = 1 − β, ᾱ_t = ∏_{s ≤ t} α_s.
///
/// - `linear`: `torch.linspace(β_start, β_end, T, dtype=float32)`; torch's CPU linspace computes
///   start + step·i for i < T/2 and end − step·(T−1−i) above, each with one fused multiply–add.
/// - `scaled_linear`: the same linspace from √β_start to √β_end, squared (`** 2` is x·x in Float32).
/// - `squaredcos_cap_v2`: `betas_for_alpha_bar` (Nichol & Dhariwal's cosine schedule, in Double, capped at 0.999).
/// - ᾱ: `torch.cumprod` on Float32, which accumulates in Double and rounds each output to Float32.
public struct NoiseSchedule: Sendable {
    public let betas: [Float]
    public let alphasCumprod: [Float]

    public var trainTimesteps: Int { betas.count }

    public init(configuration c: SchedulerConfiguration) throws {
        let count = c.numTrainTimesteps ?? 1000
        let start = c.betaStart ?? 0.0001, end = c.betaEnd ?? 0.02
        let betas: [Float]
        if let trained = c.trainedBetas {
            betas = trained.map { Float($0) }
        } else {
            switch try c.resolvedBetaSchedule() {
            case .linear:
                betas = Self.torchLinspace(Float(start), Float(end), count)
            case .scaledLinear:
                betas = Self.torchLinspace(Float(start.squareRoot()), Float(end.squareRoot()), count).map { $0 * $0 }
            case .squaredcosCapV2:
                betas = Self.cosineBetas(count)
            }
        }
        self.betas = betas
        var product = 1.0
        alphasCumprod = betas.map { beta in
            product *= Double(1 - beta)
            return Float(product)
        }
    }

    /// `torch.linspace(start, end, steps, dtype=torch.float32)` on the CPU.
    static func torchLinspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        guard steps > 1 else { return steps == 1 ? [start] : [] }
        let step = (end - start) / Float(steps - 1)
        let halfway = steps / 2
        return (0..<steps).map { i in
            i < halfway ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - 1 - i))
        }
    }

    /// `betas_for_alpha_bar(T)` with the cosine ᾱ(t) = cos²((t + 0.008)/1.008 · π/2), max β 0.999.
    static func cosineBetas(_ count: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    /// ᾱ at a timestep, or `final` for a negative one (the step past t = 0).
    func alphaProduct(_ t: Int, final: Float) -> Float { t >= 0 ? alphasCumprod[t] : final }

    /// σ_t = √((1 − ᾱ_t)/ᾱ_t) in Float32 (the Karras-style noise levels of Euler and DPM-Solver).
    var sigmas: [Float] { alphasCumprod.map { ((1 - $0) / $0).squareRoot() } }
}

// MARK: - NumPy helpers (the timestep grids are built with NumPy in diffusers)

enum NumPy {
    /// `np.linspace(start, stop, num)` in Double: `arange(num) · ((stop − start)/(num − 1)) + start`, last = stop.
    static func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        guard num > 1 else { return num == 1 ? [start] : [] }
        let step = (stop - start) / Double(num - 1)
        var values = (0..<num).map { Double($0) * step + start }
        values[num - 1] = stop
        return values
    }

    /// `np.arange(start, stop, step)` for Doubles: length ⌈(stop − start)/step⌉, values start + i·δ with
    /// δ = (start + step) − start.
    static func arange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let length = max(0, Int(((stop - start) / step).rounded(.up)))
        let delta = (start + step) - start
        return (0..<length).map { start + Double($0) * delta }
    }

    /// `np.round` (half to even).
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `np.interp(x, arange(len(fp)), fp)` in Double: fp[j] + slope·(x − j) at the interval containing x.
    static func interp(_ x: Double, _ fp: [Float]) -> Double {
        let last = fp.count - 1
        if x <= 0 { return Double(fp[0]) }
        if x >= Double(last) { return Double(fp[last]) }
        let j = Int(x.rounded(.down))
        let slope = (Double(fp[j + 1]) - Double(fp[j])) / 1.0
        return slope * (x - Double(j)) + Double(fp[j])
    }
}

/// Every timestep must index the training schedule: `leading` spacing with `steps_offset` reaches T itself when
/// the step count divides T into steps of 1 (e.g. 1000 steps, offset 1), where diffusers raises an IndexError.
func checkTimesteps(_ timesteps: [Int], train: Int) throws -> [Int] {
    if let bad = timesteps.first(where: { $0 < 0 || $0 >= train }) {
        throw SamplingError.timestepOutOfRange(timestep: bad, steps: timesteps.count, trainTimesteps: train)
    }
    return timesteps
}

/// The integer timesteps of DDPM and DDIM (`set_timesteps`, diffusers 0.42), descending.
func integerTimesteps(steps n: Int, train: Int, spacing: TimestepSpacing, offset: Int) throws -> [Int] {
    try checkTimesteps(uncheckedIntegerTimesteps(steps: n, train: train, spacing: spacing, offset: offset), train: train)
}

func uncheckedIntegerTimesteps(steps n: Int, train: Int, spacing: TimestepSpacing, offset: Int) -> [Int] {
    switch spacing {
    case .linspace:
        return NumPy.linspace(0, Double(train - 1), n).map { Int(NumPy.round($0)) }.reversed()
    case .leading:
        let ratio = train / n
        return (0..<n).reversed().map { $0 * ratio + offset }
    case .trailing:
        let ratio = Double(train) / Double(n)
        return NumPy.arange(Double(train), 0, -ratio).map { Int(NumPy.round($0)) - 1 }
    }
}
