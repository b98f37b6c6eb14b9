import CustomDiffusion
import Foundation

/// One layer's compressed ΔW as blobs (DESIGN.md §3): dense → one blob; factors → `up`, `down`;
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

    func insert(versionID: Int64, in connection: any CatalogConnection) throws {
        for put in [up, down, patchIndices, patchValues].compactMap({ $0 }) { try Store.recordBlob(put, in: connection) }
        try connection.insert(VersionLayerRecord(
            versionID: versionID, layer: key.layer, projection: key.projection.rawValue, storage: storage, dtype: dtype,
            outFeatures: rows, inFeatures: cols, rank: rank, relativeError: relativeError, upBlob: up.sha256, downBlob: down?.sha256,
            patchIndexBlob: patchIndices?.sha256, patchValueBlob: patchValues?.sha256, patchCount: patchCount), into: "version_layer")
    }
}

extension Store {
    /// The stored ΔW of every layer of a version, keyed by layer and projection.
    public func deltas(versionID: Int64) throws -> [LayerKey: CompressedDelta] {
        let records = try catalog.read { connection in
            try connection.fetchAll(VersionLayerRecord.self, "SELECT * FROM version_layer WHERE version_id = ?", [versionID])
        }
        var result: [LayerKey: CompressedDelta] = [:]
        for row in records {
            guard let projection = Projection(rawValue: row.projection), let dtype = DType(rawValue: row.dtype) else {
                throw RegistryError.malformedRow(table: "version_layer", reason: "layer \(row.layer) of version \(versionID) has projection '\(row.projection)', dtype '\(row.dtype)'")
            }
            let key = LayerKey(layer: row.layer, projection: projection)
            let h = row.outFeatures, d = row.inFeatures, r = row.rank
            func tensor(_ sha: String, _ dtype: DType, _ shape: [Int]) throws -> RawTensor {
                try RawTensor(dtype: dtype, shape: shape, bytes: try blobs.buffer(sha))
            }
            let storage: CompressedDelta.Storage
            if row.storage == "dense" {
                storage = .dense(try tensor(row.upBlob, dtype, [h, d]))
            } else {
                guard let down = row.downBlob else {
                    throw RegistryError.malformedRow(table: "version_layer", reason: "layer \(key) of version \(versionID) lacks its down factor")
                }
                storage = .factors(up: try tensor(row.upBlob, dtype, [h, r]), down: try tensor(down, dtype, [r, d]))
            }
            var patches: CompressedDelta.ExactPatches?
            if let indices = row.patchIndexBlob, let values = row.patchValueBlob {
                patches = CompressedDelta.ExactPatches(indices: try tensor(indices, .int64, [row.patchCount]),
                                                       values: try tensor(values, .float32, [row.patchCount]))
            }
            result[key] = try CompressedDelta(storage: storage, rows: h, cols: d, rank: r, relativeError: row.relativeError, patches: patches)
        }
        return result
    }

    /// The learned embeddings of a version's tokens, in token order.
    public func tokenEmbeddings(versionID: Int64) throws -> [ConceptCheckpoint.Token] {
        let records = try catalog.read { connection in
            try connection.fetchAll(VersionTokenRecord.self, "SELECT * FROM version_token WHERE version_id = ? ORDER BY position", [versionID])
        }
        return try records.map { record in
            ConceptCheckpoint.Token(name: record.token, embedding: try values(Float.self, blob: record.embeddingBlob, count: record.dimension))
        }
    }
}
