import Foundation

/// Errors of `concepts generate`: each names what is wrong, and all but `interrupted` are raised before sampling.
public enum GenerationError: Error, LocalizedError, Equatable, Sendable {
    /// `--size` not W×H with both multiples of 8 (and of the VAE's downsampling factor).
    case invalidSize(String)
    /// A request field out of range (which, its value, what is allowed).
    case invalidOption(GenerationOption, String, String)
    /// A base lacks a file or component generation needs (base, what is missing).
    case baseIncomplete(base: String, missing: String)
    /// A base's config file could not be read (path, why).
    case invalidConfig(path: String, reason: String)
    /// The output path cannot be written (path, why).
    case unwritableOutput(path: String, reason: String)
    /// A PNG could not be written or read (path, libpng's message).
    case png(path: String, reason: String)
    /// The concepts' weights do not fit the base (why).
    case conceptMismatch(String)
    /// No model implementation is available to run the base (why).
    case modelUnavailable(String)

    public var errorDescription: String? {
        switch self {
        case .invalidSize(let why): return "invalid image size: \(why)"
        case .invalidOption(let option, let value, let allowed): return "invalid \(option.rawValue) \(value): \(allowed)"
        case .baseIncomplete(let base, let missing): return "base '\(base)' cannot generate images: \(missing)"
        case .invalidConfig(let path, let reason): return "cannot read \(path): \(reason)"
        case .unwritableOutput(let path, let reason): return "cannot write \(path): \(reason)"
        case .png(let path, let reason): return "PNG \(path): \(reason)"
        case .conceptMismatch(let why): return "the concepts do not fit the base: \(why)"
        case .modelUnavailable(let why): return why
        }
    }
}

/// The fields of a `GenerationRequest` that `validateOptions` checks (front ends name them their own way:
/// the CLI as `--steps`, …).
public enum GenerationOption: String, Sendable, CaseIterable {
    case prompt, steps, guidance, eta, count, composition, seed
}
