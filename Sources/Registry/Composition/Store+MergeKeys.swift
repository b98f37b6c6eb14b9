import CustomDiffusion
import Foundation
import TextEncoder

/// A version's merge keys (DESIGN.md §1, "computed once, when concept n is registered"): its target
/// features `Cn` and, per layer, `Cn W′nᵀ` (from the weights as stored, so the merge honours what
/// export produces) and `Cn W0ᵀ`.
struct MergeKeys {
    var features: Matrix<Float>
    var prefixKeys: [String]
    var rowTokens: [Int]
    var layers: [LayerKey: (target: Matrix<Float>, base: Matrix<Float>)]
}

extension Store {
    /// Computes and stores the merge keys of a version (no-op when present). Needs the base's text
    /// encoder and tokenizer; `layers` (W0 and the stored ΔW per layer) saves re-reading them when
    /// the caller has them in memory (`register`).
    @discardableResult
    func ensureMergeKeys(versionID: Int64, encoder: (tokenizer: CLIPTokenizer, model: CLIPTextModel)? = nil,
                         layers known: [ExportLayer]? = nil) throws -> MergeKeys {
        if let keys = try loadMergeKeys(versionID: versionID) { return keys }
        let (baseID, baseName, kindText, categories) = try catalog.read { connection -> (Int64, String, String, [String]) in
            guard let row = try connection.fetchOne("""
                SELECT c.base_id, b.name AS base, v.kind FROM concept_version v JOIN concept c ON c.id = v.concept_id
                JOIN base_model b ON b.id = c.base_id WHERE v.id = ?
                """, [versionID]) else { throw RegistryError.unknownVersionID(versionID) }
            let categories = try connection.fetchColumn("SELECT category FROM version_token WHERE version_id = ? ORDER BY position",
                                                        [versionID], as: String.self)
            return (try row.value("base_id"), try row.value("base"), try row.value("kind"), categories)
        }
        let (tokenizer, model) = try encoder ?? textEncoder(forBase: baseName)
        let embeddings = try tokenEmbeddings(versionID: versionID)
        let kind = RegisterRequest.Kind(rawValue: kindText) ?? .object
        let targets = try TargetFeatures.compute(
            tokens: zip(categories, embeddings).map { (category: $0, embedding: $1.embedding) },
            kind: kind, tokenizer: tokenizer, model: model)
        let layers = try known ?? exportLayers(baseID: baseID, deltas: deltas(versionID: versionID))
        var values: [LayerKey: (target: Matrix<Float>, base: Matrix<Float>)] = [:]
        for layer in layers {
            let finetuned = try layer.delta.applied(to: layer.base)
            values[layer.key] = (Matrix.matmul(targets.features, finetuned, transposeB: true),
                                 Matrix.matmul(targets.features, layer.base, transposeB: true))
        }
        let keys = MergeKeys(features: targets.features, prefixKeys: targets.prefixKeys, rowTokens: targets.rowTokens, layers: values)
        try storeMergeKeys(keys, versionID: versionID)
        return keys
    }

    private func storeMergeKeys(_ keys: MergeKeys, versionID: Int64) throws {
        let lock = try StoreLock(store: root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }
        let batch = blobs.batch()
        func put(_ m: Matrix<Float>) throws -> BlobStore.PutResult { try m.storage.withUnsafeBytes { try batch.put($0) } }
        let features = try put(keys.features)
        var layerPuts: [(LayerKey, Int, BlobStore.PutResult, BlobStore.PutResult)] = []
        for (key, value) in keys.layers { layerPuts.append((key, value.target.cols, try put(value.target), try put(value.base))) }
        try batch.commit()
        let prefixJSON = String(decoding: try JSONEncoder().encode(keys.prefixKeys), as: UTF8.self)
        let rowJSON = String(decoding: try JSONEncoder().encode(keys.rowTokens), as: UTF8.self)
        try catalog.write { connection in
            guard try !connection.exists("SELECT 1 FROM merge_key WHERE version_id = ?", [versionID]) else { return }
            try Store.recordBlob(features, in: connection)
            try connection.insert(MergeKeyRecord(versionID: versionID, rows: keys.features.rows, dimension: keys.features.cols,
                                                 featuresBlob: features.sha256, prefixKeys: prefixJSON, rowTokens: rowJSON, createdAt: Timestamp.now()),
                                  into: "merge_key")
            for (key, h, target, base) in layerPuts {
                try Store.recordBlob(target, in: connection)
                try Store.recordBlob(base, in: connection)
                try connection.insert(MergeKeyLayerRecord(versionID: versionID, layer: key.layer, projection: key.projection.rawValue,
                                                          outFeatures: h, targetBlob: target.sha256, baseBlob: base.sha256),
                                      into: "merge_key_layer")
            }
        }
    }

    /// The stored merge keys of a version, or nil when they were never computed.
    func loadMergeKeys(versionID: Int64) throws -> MergeKeys? {
        let records = try catalog.read { connection -> (MergeKeyRecord, [MergeKeyLayerRecord])? in
            guard let head = try connection.fetchOne(MergeKeyRecord.self, "SELECT * FROM merge_key WHERE version_id = ?", [versionID]) else { return nil }
            return (head, try connection.fetchAll(MergeKeyLayerRecord.self, "SELECT * FROM merge_key_layer WHERE version_id = ?", [versionID]))
        }
        guard let (head, layerRecords) = records else { return nil }
        let s = head.rows
        var layers: [LayerKey: (target: Matrix<Float>, base: Matrix<Float>)] = [:]
        for row in layerRecords {
            guard let projection = Projection(rawValue: row.projection) else {
                throw RegistryError.malformedRow(table: "merge_key_layer", reason: "version \(versionID) layer \(row.layer) has projection '\(row.projection)'")
            }
            layers[LayerKey(layer: row.layer, projection: projection)] = (try matrix(blob: row.targetBlob, rows: s, cols: row.outFeatures),
                                                                         try matrix(blob: row.baseBlob, rows: s, cols: row.outFeatures))
        }
        let decoder = JSONDecoder()
        return MergeKeys(features: try matrix(blob: head.featuresBlob, rows: s, cols: head.dimension),
                         prefixKeys: try decoder.decode([String].self, from: Data(head.prefixKeys.utf8)),
                         rowTokens: try decoder.decode([Int].self, from: Data(head.rowTokens.utf8)),
                         layers: layers)
    }
}
