/// Rows of the composition tables (schema/migrations/0003_composition.sql).

/// `merge_key`: a version's target features Cn and the prefix key of each row.
struct MergeKeyRecord: Codable, Sendable {
    var versionID: Int64
    var rows: Int
    var dimension: Int
    var featuresBlob: String
    /// JSON array of hex digests, one per row.
    var prefixKeys: String
    /// JSON array: the token position of each row.
    var rowTokens: String
    var createdAt: String
}

/// `merge_key_layer`: Cn W′ᵀ and Cn W0ᵀ of one layer and projection.
struct MergeKeyLayerRecord: Codable, Sendable {
    var versionID: Int64
    var layer: String
    var projection: String
    var outFeatures: Int
    var targetBlob: String
    var baseBlob: String
}

/// `compose_basis`: Σ of a regset for a base, eigendecomposed, with the drift denominators.
struct ComposeBasisRecord: Codable, Sendable {
    var baseID: Int64
    var regset: String
    var sigmaSha256: String
    var dimension: Int
    var rank: Int
    var eigenvectorsBlob: String
    var eigenvaluesBlob: String
    /// JSON `{"<layer>.to_k": ‖W0 Cregᵀ‖², …}`.
    var baseEnergy: String
    var createdAt: String
}

/// `composition`: a cached composition and its JSON report.
struct CompositionRecord: Codable, Sendable {
    var id: String
    var baseID: Int64
    var regset: String
    var report: String
    var createdAt: String
}

/// `composition_version`: the versions composed, in order.
struct CompositionVersionRecord: Codable, Sendable {
    var compositionID: String
    var position: Int
    var versionID: Int64
}

/// `composition_layer`: W − W0 = up · down of one layer (F32, rank ≤ s). `out_features` and
/// `in_features` come from the base's layer table when the query joins it.
struct CompositionLayerRecord: Codable, Sendable {
    var compositionID: String
    var layer: String
    var projection: String
    var rank: Int
    var upBlob: String
    var downBlob: String
    var outFeatures: Int?
    var inFeatures: Int?
}

/// `composition_token`: a token of the composition after renaming.
struct CompositionTokenRecord: Codable, Sendable {
    var compositionID: String
    var position: Int
    var reference: String
    var token: String
    var embeddingBlob: String
}
