import Foundation
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
extension Store {
    /// `concepts base add NAME PATH`.
    public func addBase(name: String, path: URL, progress: ((String) -> Void)? = nil) throws -> BaseAddResult {
        try ConceptReference.validate(name: name, kind: "base model")
        if try catalog.read({ connection in try connection.exists("SELECT 1 FROM base_model WHERE name = ?", [name]) }) {
            throw RegistryError.baseExists(name)
        }
        let source = try BaseModelSource.open(path)
        let lock = try StoreLock(store: root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }

        let batch = blobs.batch()
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
        try catalog.write { connection in
            if try connection.exists("SELECT 1 FROM base_model WHERE name = ?", [name]) { throw RegistryError.baseExists(name) }
            let record = BaseModelRecord(id: nil, name: name, architecture: architecture.rawValue, sourcePath: path.path,
                                         sourceFormat: source.format.rawValue, contextDim: layers.first?.layer.inFeatures ?? 0,
                                         bytesTotal: bytesTotal, bytesNew: bytesNew, createdAt: createdAt)
            guard let baseID = try connection.insertReturningID(record, into: "base_model") else { throw RegistryError.baseExists(name) }
            for row in tensorRows {
                try Store.recordBlob(row.put, in: connection)
                try connection.insert(BaseTensorRecord(baseID: baseID, component: row.component, name: row.name, dtype: row.dtype,
                                                       shape: JSONShape.encode(row.shape), blob: row.put.sha256),
                                      into: "base_tensor", "ON CONFLICT (base_id, component, name) DO UPDATE SET dtype = excluded.dtype, shape = excluded.shape, blob = excluded.blob")
            }
            for row in fileRows {
                try Store.recordBlob(row.put, in: connection)
                try connection.insert(BaseFileRecord(baseID: baseID, path: row.path, blob: row.put.sha256), into: "base_file")
            }
            for (position, layer) in layers.enumerated() {
                try connection.insert(BaseLayerRecord(baseID: baseID, position: position, name: layer.layer.name, outFeatures: layer.layer.outFeatures,
                                                      inFeatures: layer.layer.inFeatures, keyTensor: layer.keyTensor, valueTensor: layer.valueTensor),
                                      into: "base_layer")
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
