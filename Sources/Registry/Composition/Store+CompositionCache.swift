import CustomDiffusion
import Foundation
import GRDB

extension Store {
    /// Records a composition: its per-layer factors and tokens as blobs, its report as JSON
    /// (replacing an earlier record of the same key, should one appear concurrently).
    func storeComposition(_ result: ComposeResult, updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)],
                          tokens: [ConceptCheckpoint.Token], baseID: Int64, versions: [ResolvedVersion]) throws {
        let lock = try StoreLock(store: root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }
        let batch = blobs.batch()
        func put(_ values: [Float]) throws -> BlobStore.PutResult { try values.withUnsafeBytes { try batch.put($0) } }
        var layerPuts: [(LayerKey, Int, BlobStore.PutResult, BlobStore.PutResult)] = []
        for (key, update) in updates.sorted(by: { $0.key < $1.key }) {
            layerPuts.append((key, update.up.cols, try put(update.up.storage), try put(update.down.storage)))
        }
        let tokenPuts = try tokens.map { try put($0.embedding) }
        try batch.commit()
        var report = result
        report.files = []
        report.seconds = 0
        let reportJSON = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        try database.write { db in
            for table in ["composition_layer", "composition_token", "composition_version"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE composition_id = ?", arguments: [result.compositionID])
            }
            try db.execute(sql: "DELETE FROM composition WHERE id = ?", arguments: [result.compositionID])
            try db.execute(sql: "INSERT INTO composition (id, base_id, regset, report, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [result.compositionID, baseID, result.regset, reportJSON, Timestamp.now()])
            for (position, version) in versions.enumerated() {
                try db.execute(sql: "INSERT INTO composition_version (composition_id, position, version_id) VALUES (?, ?, ?)",
                               arguments: [result.compositionID, position, version.versionID])
            }
            for (key, rank, up, down) in layerPuts {
                try Store.recordBlob(up, in: db)
                try Store.recordBlob(down, in: db)
                try db.execute(sql: """
                    INSERT INTO composition_layer (composition_id, layer, projection, rank, up_blob, down_blob) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [result.compositionID, key.layer, key.projection.rawValue, rank, up.sha256, down.sha256])
            }
            let references = result.concepts.flatMap { report in report.tokens.map { _ in report.reference } }
            for (position, (token, put)) in zip(tokens, tokenPuts).enumerated() {
                try Store.recordBlob(put, in: db)
                try db.execute(sql: """
                    INSERT INTO composition_token (composition_id, position, reference, token, embedding_blob) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [result.compositionID, position, position < references.count ? references[position] : "", token.name, put.sha256])
            }
        }
    }

    func compositionExists(id: String) throws -> Bool {
        try database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM composition WHERE id = ?", arguments: [id]) } != nil
    }

    /// A recorded composition, or nil.
    func loadComposition(id: String) throws
        -> (ComposeResult, [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)], [ConceptCheckpoint.Token])?
    {
        let rows = try database.read { db -> (String, [Row], [Row])? in
            guard let report = try String.fetchOne(db, sql: "SELECT report FROM composition WHERE id = ?", arguments: [id]) else { return nil }
            return (report,
                    try Row.fetchAll(db, sql: """
                        SELECT l.*, b.out_features, b.in_features FROM composition_layer l
                        JOIN composition c ON c.id = l.composition_id
                        JOIN base_layer b ON b.base_id = c.base_id AND b.name = l.layer WHERE l.composition_id = ?
                        """, arguments: [id]),
                    try Row.fetchAll(db, sql: "SELECT token, embedding_blob FROM composition_token WHERE composition_id = ? ORDER BY position", arguments: [id]))
        }
        guard let (reportJSON, layerRows, tokenRows) = rows else { return nil }
        let result = try JSONDecoder().decode(ComposeResult.self, from: Data(reportJSON.utf8))
        func floats(_ sha: String, count: Int) throws -> [Float] {
            let data = try blobs.get(sha)
            guard data.count == count * 4 else { throw RegistryError.catalog("composition blob \(sha) has \(data.count) bytes, expected \(count * 4)") }
            return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        var updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)] = [:]
        for row in layerRows {
            guard let projection = Projection(rawValue: row["projection"]) else { throw RegistryError.catalog("bad composition projection") }
            let h: Int = row["out_features"], d: Int = row["in_features"], r: Int = row["rank"]
            updates[LayerKey(layer: row["layer"], projection: projection)] = (
                Matrix(rows: h, cols: r, storage: try floats(row["up_blob"], count: h * r)),
                Matrix(rows: r, cols: d, storage: try floats(row["down_blob"], count: r * d)))
        }
        let tokens = try tokenRows.map { row in
            let data = try blobs.get(row["embedding_blob"])
            return ConceptCheckpoint.Token(name: row["token"], embedding: data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
        }
        return (result, updates, tokens)
    }

    /// Writes a composition: full `W′ = W0 + up·down` for the diffusers/CompVis/adobe layouts, the
    /// exact rank-s update for LoRA, plus every (renamed) token's embedding.
    func exportComposition(baseID: Int64, updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)],
                           tokens: [ConceptCheckpoint.Token], format: ExportFormat, to directory: URL) throws -> ExportResult {
        // The LoRA layout holds only the update: W0 is not read for it.
        let layers = try exportLayers(baseID: baseID, readingBase: format != .lora) { layer, key in
            guard let update = updates[key] else { throw RegistryError.catalog("composition lacks layer \(key)") }
            return try CompressedDelta(storage: .factors(up: update.up.rawTensor(), down: update.down.rawTensor()),
                                       rows: layer.outFeatures, cols: layer.inFeatures, rank: update.up.cols, relativeError: 0)
        }
        return try writeExport(layers: layers, tokens: tokens, format: format, to: directory)
    }
}
