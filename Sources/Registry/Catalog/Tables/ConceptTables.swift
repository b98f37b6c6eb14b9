/// Rows of the concept tables (schema/migrations/0001_initial.sql).

/// `concept`.
struct ConceptRecord: Codable, Sendable {
    var id: Int64?
    var name: String
    var baseID: Int64
    var createdAt: String
}

/// `concept_version`: immutable once inserted.
struct ConceptVersionRecord: Codable, Sendable {
    var id: Int64?
    var conceptID: Int64
    var version: Int
    var parentVersion: Int?
    var kind: String
    var description: String
    var sourceFormat: String
    var compressionPolicy: String
    var maxRelativeError: Double
    var storedBytes: Int
    var createdAt: String
}

/// `version_token`: a learned token and its F32 embedding blob.
struct VersionTokenRecord: Codable, Sendable {
    var versionID: Int64
    var position: Int
    var token: String
    var category: String
    var embeddingBlob: String
    var dimension: Int
}

/// `version_layer`: one layer's ΔW (dense or factors) and its lossless patches.
struct VersionLayerRecord: Codable, Sendable {
    var versionID: Int64
    var layer: String
    var projection: String
    var storage: String
    var dtype: String
    var outFeatures: Int
    var inFeatures: Int
    var rank: Int
    var relativeError: Double
    var upBlob: String
    var downBlob: String?
    var patchIndexBlob: String?
    var patchValueBlob: String?
    var patchCount: Int
}

/// `version_source`: a file the version was registered from.
struct VersionSourceRecord: Codable, Sendable {
    var versionID: Int64
    var path: String
    var sha256: String
}

/// `alias`: a movable name of one of a concept's versions.
struct AliasRecord: Codable, Sendable {
    var conceptID: Int64
    var alias: String
    var versionID: Int64
}
