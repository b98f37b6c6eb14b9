import Foundation

/// A base model as `base list` / `base show` report it.
public struct BaseInfo: Codable, Sendable {
    public struct Layer: Codable, Sendable {
        public let name: String
        public let outFeatures: Int
        public let inFeatures: Int
        enum CodingKeys: String, CodingKey {
            case name
            case outFeatures = "out_features"
            case inFeatures = "in_features"
        }
    }

    public let name: String
    public let architecture: String
    public let sourcePath: String
    public let sourceFormat: String
    public let contextDim: Int
    public let tensors: Int
    public let bytesTotal: Int
    public let createdAt: String
    public let concepts: Int
    /// The cross-attention layer table (only in `base show`).
    public let layers: [Layer]?

    enum CodingKeys: String, CodingKey {
        case name, architecture, tensors, concepts, layers
        case sourcePath = "source_path"
        case sourceFormat = "source_format"
        case contextDim = "context_dim"
        case bytesTotal = "bytes_total"
        case createdAt = "created_at"
    }
}

/// A base's cross-attention layer as the registry uses it: diffusers layer name, shapes, and the
/// base tensors holding W0 of `to_k` and `to_v`.
public struct BaseLayer: Sendable, Hashable {
    public let name: String
    public let outFeatures: Int
    public let inFeatures: Int
    public let keyTensor: String
    public let valueTensor: String
}

extension Store {
    public func bases() throws -> [BaseInfo] {
        try catalog.read { connection in
            try connection.fetchColumn("SELECT name FROM base_model ORDER BY name", as: String.self)
                .map { try Self.baseInfo(name: $0, withLayers: false, in: connection) }
        }
    }

    public func base(named name: String) throws -> BaseInfo {
        try catalog.read { connection in try Self.baseInfo(name: name, withLayers: true, in: connection) }
    }

    static func baseInfo(name: String, withLayers: Bool, in connection: any CatalogConnection) throws -> BaseInfo {
        guard let base = try connection.fetchOne(BaseModelRecord.self, "SELECT * FROM base_model WHERE name = ?", [name]),
              let id = base.id else {
            throw RegistryError.unknownBase(name)
        }
        let tensors = try connection.fetchValue("SELECT COUNT(*) FROM base_tensor WHERE base_id = ?", [id], as: Int.self) ?? 0
        let concepts = try connection.fetchValue("SELECT COUNT(*) FROM concept WHERE base_id = ?", [id], as: Int.self) ?? 0
        let layers = withLayers ? try baseLayers(baseID: id, in: connection).map {
            BaseInfo.Layer(name: $0.name, outFeatures: $0.outFeatures, inFeatures: $0.inFeatures)
        } : nil
        return BaseInfo(name: base.name, architecture: base.architecture, sourcePath: base.sourcePath, sourceFormat: base.sourceFormat,
                        contextDim: base.contextDim, tensors: tensors, bytesTotal: base.bytesTotal, createdAt: base.createdAt,
                        concepts: concepts, layers: layers)
    }

    static func baseID(named name: String, in connection: any CatalogConnection) throws -> Int64 {
        guard let id = try connection.fetchValue("SELECT id FROM base_model WHERE name = ?", [name], as: Int64.self) else {
            throw RegistryError.unknownBase(name)
        }
        return id
    }

    static func baseLayers(baseID: Int64, in connection: any CatalogConnection) throws -> [BaseLayer] {
        try connection.fetchAll(BaseLayerRecord.self, "SELECT * FROM base_layer WHERE base_id = ? ORDER BY position", [baseID]).map {
            BaseLayer(name: $0.name, outFeatures: $0.outFeatures, inFeatures: $0.inFeatures, keyTensor: $0.keyTensor, valueTensor: $0.valueTensor)
        }
    }

    /// A base tensor's bytes (verified) as a `RawTensor`.
    public func baseTensor(baseID: Int64, component: String = "unet", name: String) throws -> RawTensor {
        let record = try catalog.read { connection in
            try connection.fetchOne(BaseTensorRecord.self, "SELECT * FROM base_tensor WHERE base_id = ? AND component = ? AND name = ?",
                                    [baseID, component, name])
        }
        guard let record else { throw RegistryError.missingBaseTensor(baseID: baseID, component: component, name: name) }
        guard let dtype = DType(rawValue: record.dtype) else {
            throw RegistryError.malformedRow(table: "base_tensor", reason: "tensor \(name) of base \(baseID) has unknown dtype '\(record.dtype)'")
        }
        return try RawTensor(dtype: dtype, shape: JSONShape.decode(record.shape), bytes: blobs.buffer(record.blob))
    }

    /// A base's non-tensor file (config, tokenizer), if stored.
    public func baseFile(baseID: Int64, path: String) throws -> Data? {
        let sha = try catalog.read { connection in
            try connection.fetchValue("SELECT blob FROM base_file WHERE base_id = ? AND path = ?", [baseID, path], as: String.self)
        }
        return try sha.map { try blobs.get($0) }
    }
}
