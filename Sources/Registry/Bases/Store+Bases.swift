import Foundation
import GRDB

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
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT name FROM base_model ORDER BY name").map { try Self.baseInfo(name: $0["name"], withLayers: false, in: db) }
        }
    }

    public func base(named name: String) throws -> BaseInfo {
        try database.read { db in try Self.baseInfo(name: name, withLayers: true, in: db) }
    }

    static func baseInfo(name: String, withLayers: Bool, in db: Database) throws -> BaseInfo {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM base_model WHERE name = ?", arguments: [name]) else {
            throw RegistryError.unknownBase(name)
        }
        let id: Int64 = row["id"]
        let tensors = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM base_tensor WHERE base_id = ?", arguments: [id]) ?? 0
        let concepts = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM concept WHERE base_id = ?", arguments: [id]) ?? 0
        let layers = withLayers ? try baseLayers(baseID: id, in: db).map {
            BaseInfo.Layer(name: $0.name, outFeatures: $0.outFeatures, inFeatures: $0.inFeatures)
        } : nil
        return BaseInfo(name: row["name"], architecture: row["architecture"], sourcePath: row["source_path"], sourceFormat: row["source_format"],
                        contextDim: row["context_dim"], tensors: tensors, bytesTotal: row["bytes_total"], createdAt: row["created_at"],
                        concepts: concepts, layers: layers)
    }

    static func baseID(named name: String, in db: Database) throws -> Int64 {
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM base_model WHERE name = ?", arguments: [name]) else {
            throw RegistryError.unknownBase(name)
        }
        return id
    }

    static func baseLayers(baseID: Int64, in db: Database) throws -> [BaseLayer] {
        try Row.fetchAll(db, sql: "SELECT * FROM base_layer WHERE base_id = ? ORDER BY position", arguments: [baseID]).map {
            BaseLayer(name: $0["name"], outFeatures: $0["out_features"], inFeatures: $0["in_features"],
                      keyTensor: $0["key_tensor"], valueTensor: $0["value_tensor"])
        }
    }

    /// A base tensor's bytes (verified) as a `RawTensor`.
    public func baseTensor(baseID: Int64, component: String = "unet", name: String) throws -> RawTensor {
        let row = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT dtype, shape, blob FROM base_tensor WHERE base_id = ? AND component = ? AND name = ?",
                             arguments: [baseID, component, name])
        }
        guard let row, let dtype = DType(rawValue: row["dtype"]) else {
            throw RegistryError.catalog("base \(baseID) has no \(component) tensor \(name)")
        }
        return try RawTensor(dtype: dtype, shape: JSONShape.decode(row["shape"]), bytes: blobs.buffer(row["blob"]))
    }

    /// A base's non-tensor file (config, tokenizer), if stored.
    public func baseFile(baseID: Int64, path: String) throws -> Data? {
        let sha = try database.read { db in
            try String.fetchOne(db, sql: "SELECT blob FROM base_file WHERE base_id = ? AND path = ?", arguments: [baseID, path])
        }
        return try sha.map { try blobs.get($0) }
    }
}
