import CustomDiffusion
import Foundation
import GRDB
import TextEncoder

/// A version's merge keys (docs/METHOD.md, "computed once, when concept n is registered"): its target
/// features `Cn` and, per layer, `Cn W′nᵀ` (from the weights as stored, so the merge honours what
/// export produces) and `Cn W0ᵀ`.
/// The method's type (`ConceptTargets`), kept per version in `merge_key` / `merge_key_layer`.
typealias MergeKeys = ConceptTargets

extension Store {
    /// Computes and stores the merge keys of a version (no-op when present). Needs the base's text
    /// encoder and tokenizer; `layers` (W0 and the stored ΔW per layer) saves re-reading them when
    /// the caller has them in memory (`register`).
    @discardableResult
    func ensureMergeKeys(versionID: Int64, encoder: (tokenizer: CLIPTokenizer, model: CLIPTextModel)? = nil,
                         layers known: [ExportLayer]? = nil) throws -> MergeKeys {
        if let keys = try loadMergeKeys(versionID: versionID) { return keys }
        let (baseID, baseName, kindText, tokenRows) = try database.read { db -> (Int64, String, String, [Row]) in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT c.base_id, b.name AS base, v.kind FROM concept_version v JOIN concept c ON c.id = v.concept_id
                JOIN base_model b ON b.id = c.base_id WHERE v.id = ?
                """, arguments: [versionID]) else { throw RegistryError.catalog("no version \(versionID)") }
            let tokens = try Row.fetchAll(db, sql: "SELECT category FROM version_token WHERE version_id = ? ORDER BY position", arguments: [versionID])
            return (row["base_id"], row["base"], row["kind"], tokens)
        }
        let (tokenizer, model) = try encoder ?? textEncoder(forBase: baseName)
        let embeddings = try tokenEmbeddings(versionID: versionID)
        let kind = RegisterRequest.Kind(rawValue: kindText) ?? .object
        let targets = try TargetFeatures.compute(
            tokens: zip(tokenRows, embeddings).map { (category: $0["category"] as String, embedding: $1.embedding) },
            kind: kind, tokenizer: tokenizer, model: model)
        let layers = try known ?? exportLayers(baseID: baseID, deltas: deltas(versionID: versionID))
        var values: [LayerKey: ConceptTargets.LayerValues] = [:]
        for layer in layers {
            values[layer.key] = targets.layerValues(finetuned: try layer.delta.applied(to: layer.base), base: layer.base)
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
        try database.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM merge_key WHERE version_id = ?", arguments: [versionID]) == nil else { return }
            try Store.recordBlob(features, in: db)
            try db.execute(sql: """
                INSERT INTO merge_key (version_id, rows, dimension, features_blob, prefix_keys, row_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [versionID, keys.features.rows, keys.features.cols, features.sha256, prefixJSON, rowJSON, Timestamp.now()])
            for (key, h, target, base) in layerPuts {
                try Store.recordBlob(target, in: db)
                try Store.recordBlob(base, in: db)
                try db.execute(sql: """
                    INSERT INTO merge_key_layer (version_id, layer, projection, out_features, target_blob, base_blob) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [versionID, key.layer, key.projection.rawValue, h, target.sha256, base.sha256])
            }
        }
    }

    /// The stored merge keys of a version, or nil when they were never computed.
    func loadMergeKeys(versionID: Int64) throws -> MergeKeys? {
        let rows = try database.read { db -> (Row, [Row])? in
            guard let head = try Row.fetchOne(db, sql: "SELECT * FROM merge_key WHERE version_id = ?", arguments: [versionID]) else { return nil }
            return (head, try Row.fetchAll(db, sql: "SELECT * FROM merge_key_layer WHERE version_id = ?", arguments: [versionID]))
        }
        guard let (head, layerRows) = rows else { return nil }
        let s: Int = head["rows"], d: Int = head["dimension"]
        func matrix(_ sha: String, _ rows: Int, _ cols: Int) throws -> Matrix<Float> {
            let data = try blobs.get(sha)
            guard data.count == rows * cols * 4 else { throw RegistryError.catalog("merge key blob \(sha) has \(data.count) bytes, expected \(rows * cols * 4)") }
            return Matrix(rows: rows, cols: cols, storage: data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
        }
        var layers: [LayerKey: ConceptTargets.LayerValues] = [:]
        for row in layerRows {
            guard let projection = Projection(rawValue: row["projection"]) else { throw RegistryError.catalog("bad merge key projection") }
            let h: Int = row["out_features"]
            layers[LayerKey(layer: row["layer"], projection: projection)] = .init(target: try matrix(row["target_blob"], s, h), base: try matrix(row["base_blob"], s, h))
        }
        let decoder = JSONDecoder()
        return MergeKeys(features: try matrix(head["features_blob"], s, d),
                         prefixKeys: try decoder.decode([String].self, from: Data((head["prefix_keys"] as String).utf8)),
                         rowTokens: try decoder.decode([Int].self, from: Data((head["row_tokens"] as String).utf8)),
                         layers: layers)
    }
}
