import CustomDiffusion
import Foundation

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
        try catalog.write { connection in
            for table in ["composition_layer", "composition_token", "composition_version"] {
                try connection.execute("DELETE FROM \(table) WHERE composition_id = ?", [result.compositionID])
            }
            try connection.execute("DELETE FROM composition WHERE id = ?", [result.compositionID])
            try connection.insert(CompositionRecord(id: result.compositionID, baseID: baseID, regset: result.regset, report: reportJSON,
                                                    createdAt: Timestamp.now()), into: "composition")
            for (position, version) in versions.enumerated() {
                try connection.insert(CompositionVersionRecord(compositionID: result.compositionID, position: position, versionID: version.versionID),
                                      into: "composition_version")
            }
            for (key, rank, up, down) in layerPuts {
                try Store.recordBlob(up, in: connection)
                try Store.recordBlob(down, in: connection)
                try connection.insert(CompositionLayerRecord(compositionID: result.compositionID, layer: key.layer, projection: key.projection.rawValue,
                                                             rank: rank, upBlob: up.sha256, downBlob: down.sha256),
                                      into: "composition_layer")
            }
            let references = result.concepts.flatMap { report in report.tokens.map { _ in report.reference } }
            for (position, (token, put)) in zip(tokens, tokenPuts).enumerated() {
                try Store.recordBlob(put, in: connection)
                try connection.insert(CompositionTokenRecord(compositionID: result.compositionID, position: position,
                                                             reference: position < references.count ? references[position] : "",
                                                             token: token.name, embeddingBlob: put.sha256),
                                      into: "composition_token")
            }
        }
    }

    func compositionExists(id: String) throws -> Bool {
        try catalog.read { connection in try connection.exists("SELECT 1 FROM composition WHERE id = ?", [id]) }
    }

    /// A recorded composition, or nil.
    func loadComposition(id: String) throws
        -> (ComposeResult, [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)], [ConceptCheckpoint.Token])?
    {
        let records = try catalog.read { connection -> (String, [CompositionLayerRecord], [CompositionTokenRecord])? in
            guard let report = try connection.fetchValue("SELECT report FROM composition WHERE id = ?", [id], as: String.self) else { return nil }
            return (report,
                    try connection.fetchAll(CompositionLayerRecord.self, """
                        SELECT l.*, b.out_features, b.in_features FROM composition_layer l
                        JOIN composition c ON c.id = l.composition_id
                        JOIN base_layer b ON b.base_id = c.base_id AND b.name = l.layer WHERE l.composition_id = ?
                        """, [id]),
                    try connection.fetchAll(CompositionTokenRecord.self, "SELECT * FROM composition_token WHERE composition_id = ? ORDER BY position", [id]))
        }
        guard let (reportJSON, layerRecords, tokenRecords) = records else { return nil }
        let result = try JSONDecoder().decode(ComposeResult.self, from: Data(reportJSON.utf8))
        var updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)] = [:]
        for row in layerRecords {
            guard let projection = Projection(rawValue: row.projection), let h = row.outFeatures, let d = row.inFeatures else {
                throw RegistryError.malformedRow(table: "composition_layer", reason: "composition \(id) layer \(row.layer) has projection '\(row.projection)'")
            }
            updates[LayerKey(layer: row.layer, projection: projection)] = (try matrix(blob: row.upBlob, rows: h, cols: row.rank),
                                                                          try matrix(blob: row.downBlob, rows: row.rank, cols: d))
        }
        let tokens = try tokenRecords.map { record in
            ConceptCheckpoint.Token(name: record.token, embedding: try values(Float.self, blob: record.embeddingBlob, count: nil))
        }
        return (result, updates, tokens)
    }

    /// Writes a composition: full `W′ = W0 + up·down` for the diffusers/CompVis/adobe layouts, the
    /// exact rank-s update for LoRA, plus every (renamed) token's embedding.
    func exportComposition(baseID: Int64, updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)],
                           tokens: [ConceptCheckpoint.Token], format: ExportFormat, to directory: URL) throws -> ExportResult {
        // The LoRA layout holds only the update: W0 is not read for it.
        let layers = try exportLayers(baseID: baseID, readingBase: format != .lora) { layer, key in
            guard let update = updates[key] else { throw RegistryError.missingLayer(owner: "the composition", layer: key.description) }
            return try CompressedDelta(storage: .factors(up: update.up.rawTensor(), down: update.down.rawTensor()),
                                       rows: layer.outFeatures, cols: layer.inFeatures, rank: update.up.cols, relativeError: 0)
        }
        return try writeExport(layers: layers, tokens: tokens, format: format, to: directory)
    }
}
