import CustomDiffusion
import Foundation
import GRDB

/// One layer's compressed ΔW as blobs (docs/STORAGE.md §2): dense → one blob; factors → `up`, `down`;
/// lossless patches → indices and values. Reads back into a `CompressedDelta`.
struct StoredLayer {
    let key: LayerKey
    let storage: String
    let dtype: String
    let rows: Int
    let cols: Int
    let rank: Int
    let relativeError: Double
    let up: BlobStore.PutResult
    let down: BlobStore.PutResult?
    let patchIndices: BlobStore.PutResult?
    let patchValues: BlobStore.PutResult?
    let patchCount: Int

    /// Bytes this layer occupies on disk (zstd).
    var storedBytes: Int { [up, down, patchIndices, patchValues].compactMap { $0?.storedSize }.reduce(0, +) }

    static func store(_ delta: CompressedDelta, key: LayerKey, in blobs: BlobStore.Batch) throws -> StoredLayer {
        func put(_ t: RawTensor) throws -> BlobStore.PutResult { try t.bytes.withUnsafeBytes { try blobs.put($0) } }
        let patchIndices = try delta.patches.map { try put($0.indices) }
        let patchValues = try delta.patches.map { try put($0.values) }
        switch delta.storage {
        case .dense(let t):
            return StoredLayer(key: key, storage: "dense", dtype: t.dtype.rawValue, rows: delta.rows, cols: delta.cols, rank: delta.rank,
                               relativeError: delta.relativeError, up: try put(t), down: nil,
                               patchIndices: patchIndices, patchValues: patchValues, patchCount: delta.patches?.count ?? 0)
        case .factors(let up, let down):
            return StoredLayer(key: key, storage: "factors", dtype: up.dtype.rawValue, rows: delta.rows, cols: delta.cols, rank: delta.rank,
                               relativeError: delta.relativeError, up: try put(up), down: try put(down),
                               patchIndices: patchIndices, patchValues: patchValues, patchCount: delta.patches?.count ?? 0)
        }
    }

    func insert(versionID: Int64, in db: Database) throws {
        for put in [up, down, patchIndices, patchValues].compactMap({ $0 }) { try Store.recordBlob(put, in: db) }
        try db.execute(sql: """
            INSERT INTO version_layer (version_id, layer, projection, storage, dtype, out_features, in_features, rank, relative_error,
                up_blob, down_blob, patch_index_blob, patch_value_blob, patch_count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [versionID, key.layer, key.projection.rawValue, storage, dtype, rows, cols, rank, relativeError,
                             up.sha256, down?.sha256, patchIndices?.sha256, patchValues?.sha256, patchCount])
    }
}

extension Store {
    /// The stored ΔW of every layer of a version, keyed by layer and projection.
    public func deltas(versionID: Int64) throws -> [LayerKey: CompressedDelta] {
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM version_layer WHERE version_id = ?", arguments: [versionID])
        }
        var result: [LayerKey: CompressedDelta] = [:]
        for row in rows {
            guard let projection = Projection(rawValue: row["projection"]), let dtype = DType(rawValue: row["dtype"]) else {
                throw RegistryError.catalog("version \(versionID) has a malformed layer row")
            }
            let key = LayerKey(layer: row["layer"], projection: projection)
            let h: Int = row["out_features"], d: Int = row["in_features"], r: Int = row["rank"]
            func tensor(_ sha: String, _ dtype: DType, _ shape: [Int]) throws -> RawTensor {
                try RawTensor(dtype: dtype, shape: shape, bytes: try blobs.buffer(sha))
            }
            let storage: CompressedDelta.Storage
            if row["storage"] as String == "dense" {
                storage = .dense(try tensor(row["up_blob"], dtype, [h, d]))
            } else {
                guard let down: String = row["down_blob"] else { throw RegistryError.catalog("layer \(key) of version \(versionID) lacks its down factor") }
                storage = .factors(up: try tensor(row["up_blob"], dtype, [h, r]), down: try tensor(down, dtype, [r, d]))
            }
            var patches: CompressedDelta.ExactPatches?
            let count: Int = row["patch_count"]
            if let indices: String = row["patch_index_blob"], let values: String = row["patch_value_blob"] {
                patches = CompressedDelta.ExactPatches(indices: try tensor(indices, .int64, [count]), values: try tensor(values, .float32, [count]))
            }
            result[key] = try CompressedDelta(storage: storage, rows: h, cols: d, rank: r, relativeError: row["relative_error"], patches: patches)
        }
        return result
    }

    /// The learned embeddings of a version's tokens, in token order.
    public func tokenEmbeddings(versionID: Int64) throws -> [ConceptCheckpoint.Token] {
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT token, embedding_blob, dimension FROM version_token WHERE version_id = ? ORDER BY position", arguments: [versionID])
        }
        return try rows.map { row in
            let tensor = try RawTensor(dtype: .float32, shape: [row["dimension"]], bytes: try blobs.buffer(row["embedding_blob"]))
            return ConceptCheckpoint.Token(name: row["token"], embedding: try tensor.floats())
        }
    }
}
