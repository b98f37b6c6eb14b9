import Foundation

/// Everything the registry refuses or fails at, with the context a user needs to act.
public enum RegistryError: Error, LocalizedError, Equatable {
    case io(path: String, reason: String)
    case compression(String)
    case missingBlob(sha256: String, path: String)
    case corruptBlob(sha256: String, reason: String)
    case unknownBase(String)
    case baseExists(String)
    case unknownConcept(String)
    case unknownVersion(name: String, version: Int)
    case unknownAlias(name: String, alias: String)
    case invalidReference(String)
    case invalidName(kind: String, name: String, reason: String)
    case invalidBase(path: String, reason: String)
    case invalidConcept(path: String, reason: String)
    /// ‖ΔW‖/‖W0‖ of `layer` is beyond fine-tuning; `fittingBase` is another stored base the weights do fit.
    case implausibleDelta(layer: String, ratio: Double, limit: Double, fittingBase: String?)
    case wrongBase(concept: String, expected: String, actual: String)
    case catalog(String)
    case incompatibleConcepts(String)
    case unknownComposition(String)

    public var errorDescription: String? {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .compression(let reason): "zstd: \(reason)"
        case .missingBlob(let sha, let path): "blob \(sha) is missing (\(path)); run `concepts verify`"
        case .corruptBlob(let sha, let reason): "blob \(sha) is corrupt: \(reason); run `concepts verify`"
        case .unknownBase(let name): "unknown base model '\(name)' (see `concepts base list`)"
        case .baseExists(let name): "a base model named '\(name)' already exists"
        case .unknownConcept(let name): "unknown concept '\(name)' (see `concepts list`)"
        case .unknownVersion(let name, let version): "concept '\(name)' has no version \(version) (see `concepts versions \(name)`)"
        case .unknownAlias(let name, let alias): "concept '\(name)' has no alias '\(alias)' (see `concepts versions \(name)`)"
        case .invalidReference(let ref): "invalid concept reference '\(ref)': use NAME, NAME@N or NAME@ALIAS"
        case .invalidName(let kind, let name, let reason): "invalid \(kind) name '\(name)': \(reason)"
        case .invalidBase(let path, let reason): "\(path): not a usable base model: \(reason)"
        case .invalidConcept(let path, let reason): "\(path): \(reason)"
        case .implausibleDelta(let layer, let ratio, let limit, let fittingBase):
            "layer \(layer): ‖ΔW‖/‖W0‖ = \(String(format: "%.3g", ratio)) is far beyond what fine-tuning produces (limit \(limit)); "
                + "the concept was probably not trained from this base" + (fittingBase.map { " (it fits base '\($0)')" } ?? "")
        case .wrongBase(let concept, let expected, let actual): "concept '\(concept)' belongs to base '\(actual)', not '\(expected)'"
        case .catalog(let reason): "catalog: \(reason)"
        case .incompatibleConcepts(let reason): "cannot compose: \(reason)"
        case .unknownComposition(let id): "no composition '\(id)' was recorded (`concepts compose` prints its composition_id)"
        }
    }
}
