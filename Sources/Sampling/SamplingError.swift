import Foundation

/// Errors of the Sampling module: a scheduler configuration or a call that diffusers would refuse or that this
/// implementation does not cover.
public enum SamplingError: Error, LocalizedError, Equatable, Sendable {
    /// A `scheduler_config.json` that is not a JSON object or has a key of the wrong type.
    case invalidConfiguration(String)
    /// A configuration value this implementation does not cover (key, value).
    case unsupported(key: String, value: String)
    /// `num_inference_steps` outside 1…`num_train_timesteps`.
    case invalidStepCount(Int, trainTimesteps: Int)
    /// A tensor whose element count differs from the sample's (what, expected, got).
    case sizeMismatch(String, expected: Int, got: Int)
    /// `step` called with an index outside the schedule.
    case stepOutOfRange(Int, count: Int)
    /// An unknown sampler name (`--scheduler`).
    case unknownSampler(String)
    /// The spacing and `steps_offset` put a timestep outside the training range (diffusers fails with an IndexError).
    case timestepOutOfRange(timestep: Int, steps: Int, trainTimesteps: Int)

    public var errorDescription: String? {
        switch self {
        case .invalidConfiguration(let why):
            return "scheduler configuration is invalid: \(why)"
        case .unsupported(let key, let value):
            return "scheduler configuration: \(key) = \(value) is not supported"
        case .invalidStepCount(let n, let train):
            return "the number of inference steps must be between 1 and num_train_timesteps (\(train)); got \(n)"
        case .sizeMismatch(let what, let expected, let got):
            return "\(what) has \(got) elements; the sample has \(expected)"
        case .stepOutOfRange(let i, let count):
            return "step \(i) is outside the schedule of \(count) steps"
        case .timestepOutOfRange(let t, let steps, let train):
            return "\(steps) steps with this scheduler's timestep_spacing and steps_offset reach timestep \(t), outside 0..<\(train) (num_train_timesteps); use fewer steps"
        case .unknownSampler(let name):
            return "unknown scheduler '\(name)' (known: \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}
