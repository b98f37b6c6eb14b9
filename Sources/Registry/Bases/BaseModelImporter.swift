import Foundation
import GRDB
import TensorFormats
import CustomDiffusion

/// Result of `concepts base add` (CLI.md "Base models").
public struct BaseAddResult: Codable, Sendable {
    public let name: String
    public let architecture: String
    public let tensors: Int
    /// Uncompressed bytes of every tensor and file of the base.
    public let bytesTotal: Int
    /// Uncompressed bytes that were not already in the store (0 when every tensor was shared).
    public let bytesNew: Int
    /// Number of cross-attention layers (`attn2`) found; `base show` lists them.
    public let crossAttentionLayers: Int
    enum CodingKeys: String, CodingKey {
        case name, architecture, tensors
        case bytesTotal = "bytes_total"
        case bytesNew = "bytes_new"
        case crossAttentionLayers = "cross_attention_layers"
    }
}

/// Adds a base model to the store: every tensor becomes its own content-addressed blob (so bases
/// that share tensors share blobs), streamed one tensor at a time; the cross-attention layer
/// table is detected and recorded; everything is committed in one catalog transaction.
public enum BaseModelImporter {
    public static func add(name: String, path: URL, to store: Store, progress: ((String) -> Void)? = nil) throws -> BaseAddResult {
        try ConceptReference.validate(name: name, kind: "base model")
        if try store.database.read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM base_model WHERE name = ?", arguments: [name]) }) != nil {
            throw RegistryError.baseExists(name)
        }
        let source = try BaseModelSource.open(path)
        let lock = try StoreLock(store: store.root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }

        let batch = store.blobs.batch()
        var tensorRows: [(component: String, name: String, dtype: String, shape: [Int], put: BlobStore.PutResult)] = []
        var unetShapes: [(name: String, shape: [Int])] = []
        var bytesTotal = 0, bytesNew = 0
        for component in source.components {
            progress?("reading \(component.name)")
            let archive = try component.read()
            for (tensorName, tensor) in archive.tensors {
                let put = try tensor.bytes.withUnsafeBytes { try batch.put($0) }
                tensor.bytes.releaseResidentPages()
                tensorRows.append((component.name, tensorName, tensor.dtype.rawValue, tensor.shape, put))
                if component.name == "unet" { unetShapes.append((tensorName, tensor.shape)) }
                bytesTotal += put.size
                if put.isNew { bytesNew += put.size }
            }
        }
        var fileRows: [(path: String, put: BlobStore.PutResult)] = []
        for file in source.files {
            guard let data = FileManager.default.contents(atPath: file.url.path) else {
                throw RegistryError.io(path: file.url.path, reason: "cannot read")
            }
            let put = try batch.put(data)
            fileRows.append((file.relativePath, put))
            bytesTotal += put.size
            if put.isNew { bytesNew += put.size }
        }
        let layers = try CrossAttentionLayerTable.detect(unetTensors: unetShapes, source: path.path)
        let architecture = Architecture(layers: layers.map(\.layer))

        try batch.commit()
        let createdAt = Timestamp.now()
        try store.database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM base_model WHERE name = ?", arguments: [name]) != nil {
                throw RegistryError.baseExists(name)
            }
            try db.execute(sql: """
                INSERT INTO base_model (name, architecture, source_path, source_format, context_dim, bytes_total, bytes_new, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [name, architecture.rawValue, path.path, source.format.rawValue, layers.first?.layer.inFeatures ?? 0,
                                 bytesTotal, bytesNew, createdAt])
            let baseID = db.lastInsertedRowID
            for row in tensorRows {
                try Store.recordBlob(row.put, in: db)
                try db.execute(sql: "INSERT OR REPLACE INTO base_tensor (base_id, component, name, dtype, shape, blob) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [baseID, row.component, row.name, row.dtype, JSONShape.encode(row.shape), row.put.sha256])
            }
            for row in fileRows {
                try Store.recordBlob(row.put, in: db)
                try db.execute(sql: "INSERT INTO base_file (base_id, path, blob) VALUES (?, ?, ?)", arguments: [baseID, row.path, row.put.sha256])
            }
            for (position, layer) in layers.enumerated() {
                try db.execute(sql: """
                    INSERT INTO base_layer (base_id, position, name, out_features, in_features, key_tensor, value_tensor)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [baseID, position, layer.layer.name, layer.layer.outFeatures, layer.layer.inFeatures, layer.keyTensor, layer.valueTensor])
            }
        }
        return BaseAddResult(name: name, architecture: architecture.rawValue, tensors: tensorRows.count, bytesTotal: bytesTotal,
                             bytesNew: bytesNew, crossAttentionLayers: layers.count)
    }
}

/// Shapes stored as JSON arrays in the catalog.
enum JSONShape {
    static func encode(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }
    static func decode(_ text: String) -> [Int] {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
}

/// ISO 8601 UTC timestamps with milliseconds, as the catalog stores them.
enum Timestamp {
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
