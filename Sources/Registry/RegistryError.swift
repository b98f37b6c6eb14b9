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
    case implausibleDelta(layer: String, ratio: Double, limit: Double, suggestion: String)
    case wrongBase(concept: String, expected: String, actual: String)
    /// A catalog row the registry cannot use (a value outside its schema's domain): `table` and what is wrong.
    case malformedRow(table: String, reason: String)
    /// A version id that no `concept_version` row has (a composition or merge key refers to it).
    case unknownVersionID(Int64)
    /// A base tensor a layer table names but the catalog does not hold.
    case missingBaseTensor(baseID: Int64, component: String, name: String)
    /// A stored delta, composition or merge key that lacks a layer its base has: `owner` says whose.
    case missingLayer(owner: String, layer: String)
    /// A blob whose size does not match the shape the catalog records for it.
    case blobSizeMismatch(sha256: String, bytes: Int, expected: Int)
    /// A text encoder or token embedding that does not fit the base it is used with.
    case incompatibleTextEncoder(String)
    /// A background task (e.g. loading the text encoder) ended without a result.
    case backgroundTaskLost
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
        case .implausibleDelta(let layer, let ratio, let limit, let suggestion):
            "layer \(layer): ‖ΔW‖/‖W0‖ = \(String(format: "%.3g", ratio)) is far beyond what fine-tuning produces (limit \(limit)); "
                + "the concept was probably not trained from this base\(suggestion). Use --force to register anyway"
        case .wrongBase(let concept, let expected, let actual): "concept '\(concept)' belongs to base '\(actual)', not '\(expected)'"
        case .malformedRow(let table, let reason): "catalog table \(table): \(reason); run `concepts verify`"
        case .unknownVersionID(let id): "the catalog has no concept version with id \(id); run `concepts verify`"
        case .missingBaseTensor(let baseID, let component, let name): "base \(baseID) has no \(component) tensor \(name)"
        case .missingLayer(let owner, let layer): "\(owner) has no stored layer \(layer)"
        case .blobSizeMismatch(let sha, let bytes, let expected): "blob \(sha) has \(bytes) bytes, expected \(expected); run `concepts verify`"
        case .incompatibleTextEncoder(let reason): "text encoder: \(reason)"
        case .backgroundTaskLost: "a background task ended without a result"
        case .incompatibleConcepts(let reason): "cannot compose: \(reason)"
        case .unknownComposition(let id): "no composition '\(id)' was recorded (`concepts compose` prints its composition_id)"
        }
    }
}
