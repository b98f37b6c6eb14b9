import CaptionIndex
import Foundation
import Generation
import Registry

/// The `error:` line for a failure (CLI.md "Conventions"). The libraries describe what went wrong
/// without knowing the command line; this is where their errors learn the flags and commands that fix them.
enum ErrorMessages {
    static func describe(_ error: Error) -> String {
        let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        switch error {
        case RegistryError.implausibleDelta(_, _, _, let fittingBase):
            return text + (fittingBase.map { ": try --base \($0)" } ?? "") + ". Use --force to register anyway"
        case CaptionError.noEncoder:
            return text + " (use `concepts encoder add NAME PATH`, or --embeddings FILE.npy)"
        case CaptionError.ambiguousEncoder:
            return text + " with --encoder"
        case CaptionError.unknownSet(let name):
            return text + " (import captions with `concepts captions import FILE --set \(name)`)"
        case CaptionError.unknownEncoder(let name):
            return text + " (register one with `concepts encoder add \(name) PATH`)"
        case GenerationError.invalidOption(let option, let value, let allowed):
            return "invalid \(flag(option)) \(value): \(allowed)"
        case GenerationError.invalidSize(let why):
            return "invalid --size: \(why)"
        default:
            return text
        }
    }

    /// The `generate` flag that sets a request field.
    static func flag(_ option: GenerationOption) -> String {
        switch option {
        case .prompt: "PROMPT"
        case .steps: "--steps"
        case .guidance: "--guidance"
        case .eta: "--eta"
        case .count: "--count"
        case .composition: "--composition"
        case .seed: "--seed"
        }
    }
}
