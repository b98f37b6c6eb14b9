import Foundation

/// A diffusers `scheduler/scheduler_config.json`, read the way `SchedulerMixin.from_config` reads it: every key is
/// optional, a key absent from the file takes the default of the scheduler class it is loaded into (so SD 1.5's
/// PNDM config becomes DDIM with `timestep_spacing = "leading"` but Euler with `"linspace"`), and keys the class
/// does not know are ignored. Values this implementation does not cover are refused by ``validate(for:)``.
public struct SchedulerConfiguration: Codable, Sendable, Equatable {
    public var className: String?
    public var numTrainTimesteps: Int?
    public var betaStart: Double?
    public var betaEnd: Double?
    public var betaSchedule: String?
    public var trainedBetas: [Double]?
    public var predictionType: String?
    public var timestepSpacing: String?
    public var stepsOffset: Int?
    public var clipSample: Bool?
    public var clipSampleRange: Double?
    public var setAlphaToOne: Bool?
    public var varianceType: String?
    public var thresholding: Bool?
    public var rescaleBetasZeroSnr: Bool?
    public var useKarrasSigmas: Bool?
    public var useExponentialSigmas: Bool?
    public var useBetaSigmas: Bool?
    public var useLuLambdas: Bool?
    public var useFlowSigmas: Bool?
    public var interpolationType: String?
    public var timestepType: String?
    public var algorithmType: String?
    public var solverOrder: Int?
    public var solverType: String?
    public var lowerOrderFinal: Bool?
    public var eulerAtFinal: Bool?
    public var finalSigmasType: String?
    public var lambdaMinClipped: Double?

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps"
        case betaStart = "beta_start"
        case betaEnd = "beta_end"
        case betaSchedule = "beta_schedule"
        case trainedBetas = "trained_betas"
        case predictionType = "prediction_type"
        case timestepSpacing = "timestep_spacing"
        case stepsOffset = "steps_offset"
        case clipSample = "clip_sample"
        case clipSampleRange = "clip_sample_range"
        case setAlphaToOne = "set_alpha_to_one"
        case varianceType = "variance_type"
        case thresholding
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
        case useKarrasSigmas = "use_karras_sigmas"
        case useExponentialSigmas = "use_exponential_sigmas"
        case useBetaSigmas = "use_beta_sigmas"
        case useLuLambdas = "use_lu_lambdas"
        case useFlowSigmas = "use_flow_sigmas"
        case interpolationType = "interpolation_type"
        case timestepType = "timestep_type"
        case algorithmType = "algorithm_type"
        case solverOrder = "solver_order"
        case solverType = "solver_type"
        case lowerOrderFinal = "lower_order_final"
        case eulerAtFinal = "euler_at_final"
        case finalSigmasType = "final_sigmas_type"
        case lambdaMinClipped = "lambda_min_clipped"
    }

    public init() {}

    /// Decodes `scheduler_config.json`; `null` values count as absent (SD 1.5 has `"trained_betas": null`).
    public static func decode(_ json: Data) throws -> SchedulerConfiguration {
        do {
            return try JSONDecoder().decode(SchedulerConfiguration.self, from: json)
        } catch let error as DecodingError {
            throw SamplingError.invalidConfiguration(Self.describe(error))
        } catch {
            throw SamplingError.invalidConfiguration(error.localizedDescription)
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

// MARK: - Resolved values

/// `beta_schedule`.
public enum BetaSchedule: String, Sendable { case linear, scaledLinear = "scaled_linear", squaredcosCapV2 = "squaredcos_cap_v2" }
/// `timestep_spacing` (Table 2 of Lin et al., *Common Diffusion Noise Schedules and Sample Steps are Flawed*).
public enum TimestepSpacing: String, Sendable { case leading, trailing, linspace }
/// `prediction_type`: what the UNet predicts.
public enum PredictionType: String, Sendable { case epsilon, vPrediction = "v_prediction", sample }

extension SchedulerConfiguration {
    func resolvedBetaSchedule() throws -> BetaSchedule {
        let name = betaSchedule ?? "linear"
        guard let value = BetaSchedule(rawValue: name) else { throw SamplingError.unsupported(key: "beta_schedule", value: name) }
        return value
    }

    func resolvedSpacing(default fallback: TimestepSpacing) throws -> TimestepSpacing {
        guard let name = timestepSpacing else { return fallback }
        guard let value = TimestepSpacing(rawValue: name) else { throw SamplingError.unsupported(key: "timestep_spacing", value: name) }
        return value
    }

    func resolvedPrediction(allowSample: Bool) throws -> PredictionType {
        let name = predictionType ?? "epsilon"
        guard let value = PredictionType(rawValue: name), allowSample || value != .sample else {
            throw SamplingError.unsupported(key: "prediction_type", value: name)
        }
        return value
    }

    /// Refuses the options no scheduler here implements (they change the schedule or the update).
    func refuseUnsupportedCommon() throws {
        let flags: [(String, Bool?)] = [
            ("thresholding", thresholding), ("rescale_betas_zero_snr", rescaleBetasZeroSnr),
            ("use_karras_sigmas", useKarrasSigmas), ("use_exponential_sigmas", useExponentialSigmas),
            ("use_beta_sigmas", useBetaSigmas), ("use_lu_lambdas", useLuLambdas), ("use_flow_sigmas", useFlowSigmas),
        ]
        for (key, value) in flags where value == true {
            throw SamplingError.unsupported(key: key, value: "true")
        }
        if let steps = numTrainTimesteps, steps < 2 {
            throw SamplingError.unsupported(key: "num_train_timesteps", value: String(steps))
        }
        if let betas = trainedBetas, betas.count != (numTrainTimesteps ?? 1000) {
            throw SamplingError.invalidConfiguration("trained_betas has \(betas.count) values, num_train_timesteps is \(numTrainTimesteps ?? 1000)")
        }
    }
}
