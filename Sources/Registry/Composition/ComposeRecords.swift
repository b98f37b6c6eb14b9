import CustomDiffusion
import Foundation

/// What `concepts compose` was asked to do (CLI.md "Composition").
public struct ComposeRequest: Sendable {
    public var references: [String]
    /// A regularization set name; nil = the default set shipped with the project.
    public var regset: String?
    public var format: ExportFormat
    public var output: URL
    /// False (`--no-cache`): recompute even when the same composition was made before.
    public var useCache: Bool

    public init(references: [String], regset: String? = nil, format: ExportFormat = .diffusers, output: URL, useCache: Bool = true) {
        self.references = references
        self.regset = regset
        self.format = format
        self.output = output
        self.useCache = useCache
    }
}

/// The JSON result of `compose`. `tokens` maps each REF as given to its token in the composition
/// (several tokens of a joint version are space-separated, as a prompt uses them).
public struct ComposeResult: Codable, Sendable {
    public struct ConceptReport: Codable, Sendable {
        public let reference: String
        public let version: String
        public let tokens: [String]
        public let targetRows: Int
        /// max |W Cnᵀ − Vnᵀ| over this concept's rows and every layer.
        public let constraintResidual: Double
        enum CodingKeys: String, CodingKey {
            case reference, version, tokens
            case targetRows = "target_rows"
            case constraintResidual = "constraint_residual"
        }
    }

    public let compositionID: String
    public let base: String
    public let regset: String
    public let tokens: [String: String]
    /// Distinct target rows s (after dropping duplicates).
    public let targets: Int
    public let droppedDuplicateRows: Int
    public let maxConstraintResidual: Double
    /// max over layers of ‖(W − W0) Cregᵀ‖_F / ‖W0 Cregᵀ‖_F.
    public let regularizationDrift: Double
    /// Directions of Σ treated as null (eigenvalues ≤ 1e-10·λmax; 0 for a well-conditioned Σ).
    public let sigmaDroppedDirections: Int
    /// κ₂ of Σ on the directions kept.
    public let sigmaCondition: Double
    public let concepts: [ConceptReport]
    public var seconds: Double
    public var cached: Bool
    public var files: [String]

    enum CodingKeys: String, CodingKey {
        case base, regset, tokens, targets, concepts, seconds, cached, files
        case sigmaDroppedDirections = "sigma_dropped_directions"
        case sigmaCondition = "sigma_condition"
        case compositionID = "composition_id"
        case droppedDuplicateRows = "dropped_duplicate_rows"
        case maxConstraintResidual = "max_constraint_residual"
        case regularizationDrift = "regularization_drift"
    }
}
