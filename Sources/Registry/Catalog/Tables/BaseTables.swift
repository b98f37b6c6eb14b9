/// Rows of the base-model tables (schema/migrations/0001_initial.sql), read with
/// `CatalogRow.decode` and written with `CatalogConnection.insert`.

/// `blob`: one content-addressed blob the catalog refers to.
struct BlobRecord: Codable, Sendable {
    var sha256: String
    var size: Int
    var storedSize: Int
}

/// `base_model`.
struct BaseModelRecord: Codable, Sendable {
    var id: Int64?
    var name: String
    var architecture: String
    var sourcePath: String
    var sourceFormat: String
    var contextDim: Int
    var bytesTotal: Int
    var bytesNew: Int
    var createdAt: String
}

/// `base_tensor`: one tensor of a base; `shape` is a JSON array.
struct BaseTensorRecord: Codable, Sendable {
    var baseID: Int64
    var component: String
    var name: String
    var dtype: String
    var shape: String
    var blob: String
}

/// `base_file`: a non-tensor file of a base (configs, tokenizer).
struct BaseFileRecord: Codable, Sendable {
    var baseID: Int64
    var path: String
    var blob: String
}

/// `base_layer`: one row of a base's cross-attention layer table.
struct BaseLayerRecord: Codable, Sendable {
    var baseID: Int64
    var position: Int
    var name: String
    var outFeatures: Int
    var inFeatures: Int
    var keyTensor: String
    var valueTensor: String
}
