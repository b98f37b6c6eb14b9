import Foundation

/// Errors of `concepts generate`: each names what is wrong, and all but `interrupted` are raised before sampling.
public enum GenerationError: Error, LocalizedError, Equatable, Sendable {
    /// `--size` not W×H with both multiples of 8 (and of the VAE's downsampling factor).
    case invalidSize(String)
    /// A numeric option out of range (name, value, what is allowed).
    case invalidOption(String, String, String)
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
        case .invalidSize(let why): return "invalid --size: \(why)"
        case .invalidOption(let name, let value, let allowed): return "invalid \(name) \(value): \(allowed)"
        case .baseIncomplete(let base, let missing): return "base '\(base)' cannot generate images: \(missing)"
        case .invalidConfig(let path, let reason): return "cannot read \(path): \(reason)"
        case .unwritableOutput(let path, let reason): return "cannot write \(path): \(reason)"
        case .png(let path, let reason): return "PNG \(path): \(reason)"
        case .conceptMismatch(let why): return "the concepts do not fit the base: \(why)"
        case .modelUnavailable(let why): return why
        }
    }
}
