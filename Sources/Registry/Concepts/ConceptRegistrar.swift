import CustomDiffusion
import Foundation
import GRDB
import TensorFormats

/// `concepts register`: reads a Custom Diffusion output, checks it against the base, stores
/// ΔW = W′ − W0 per layer compressed by the chosen policy, and records an immutable new version.
///
/// Order of work (docs/STORAGE.md §1): read → map names to the base's layer table → validate (layers,
/// shapes, finite, plausibly this base) → ΔW → compress → blobs (each fsynced and renamed before
/// the catalog refers to it) → one catalog transaction. A process killed before the commit leaves
/// only unreferenced blobs, which `gc` removes; nothing is visible.
public enum ConceptRegistrar {
    /// ‖ΔW‖_F / ‖W0‖_F above this on any layer means the weights were almost certainly not
    /// fine-tuned from this base: Custom Diffusion's ~250–500 steps at lr 1e-5 change K/V weights by a
    /// few percent, while weights of an unrelated model differ by ~√2 of their norm.
    public static let plausibleDeltaRatio = 0.5

    public static func register(_ request: RegisterRequest, in store: Store) throws -> RegisterResult {
        try ConceptReference.validate(name: request.name, kind: "concept")
        let (baseID, layers) = try store.database.read { db in
            let id = try Store.baseID(named: request.base, in: db)
            return (id, try Store.baseLayers(baseID: id, in: db))
        }
        var checkpoint: ConceptCheckpoint
        do {
            checkpoint = try ConceptCheckpoint.read(path: request.path, tokenNames: request.tokens.isEmpty ? nil : request.tokens)
            try checkpoint.validate(against: layers.map(\.crossAttentionLayer))
        } catch let error as ConceptError {
            throw RegistryError.invalidConcept(path: request.path.path, reason: error.localizedDescription)
        }
        try checkTokens(checkpoint, request: request, baseID: baseID, store: store)

        // W′ (or factors) with its W0 per layer; ΔW checked for plausibility before anything is stored.
        // W0 stays as stored (fp16 for fp16 bases: half the memory) and is widened per layer when used;
        // each W′ is released once compressed (`pairs` owns them: the checkpoint's copy is dropped).
        var pairs: [(key: LayerKey, weight: ConceptCheckpoint.Weight?, base: RawTensor)] = []
        var implausible: (layer: String, ratio: Double)?
        for layer in layers {
            for projection in Projection.allCases {
                let key = LayerKey(layer: layer.name, projection: projection)
                guard let weight = checkpoint.weights[key] else { throw RegistryError.invalidConcept(path: request.path.path, reason: "no weight for \(key)") }
                let w0 = try store.baseTensor(baseID: baseID, name: projection == .key ? layer.keyTensor : layer.valueTensor)
                let ratio = try deltaRatio(weight, base: w0.matrix())
                if ratio > plausibleDeltaRatio, ratio > (implausible?.ratio ?? 0) { implausible = (key.description, ratio) }
                pairs.append((key, weight, w0))
            }
        }
        if let implausible, !request.force {
            let suggestion = try suggestBase(for: checkpoint, excluding: baseID, store: store)
            throw RegistryError.implausibleDelta(layer: implausible.layer, ratio: implausible.ratio, limit: plausibleDeltaRatio,
                                                 fittingBase: suggestion)
        }
        checkpoint.weights = [:]

        // The base text encoder (for the merge keys) loads on another thread while ΔW is compressed,
        // with only the token embedding rows the merge-key prompts use.
        let baseName = request.base, categories = request.categories, kind = request.kind
        let encoderLoad = BackgroundTask {
            try store.textEncoder(forBase: baseName) { tokenizer, configuration in
                TargetFeatures.vocabularyIDs(categories: categories, kind: kind, tokenizer: tokenizer, maxLength: configuration.maxPositions)
            }
        }

        let lock = try StoreLock(store: store.root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }
        let batch = store.blobs.batch()
        var stored: [StoredLayer] = []
        var compressedLayers: [(key: LayerKey, base: RawTensor, delta: CompressedDelta)] = []
        for index in pairs.indices {
            guard let weight = pairs[index].weight else { continue }
            pairs[index].weight = nil
            let compressed = try DeltaCompressor.compress(weight, base: pairs[index].base.matrix(), policy: request.compression)
            stored.append(try StoredLayer.store(compressed, key: pairs[index].key, in: batch))
            compressedLayers.append((pairs[index].key, pairs[index].base, compressed))
        }
        let embeddings = try checkpoint.tokens.map { token in
            try RawTensor.from(floats: token.embedding, shape: [token.embedding.count]).bytes.withUnsafeBytes { try batch.put($0) }
        }
        let sources = try checkpoint.sourceFiles.map { url in
            (path: url.path, sha256: try MappedFile.map(path: url.path).withUnsafeBytes { BlobStore.digest($0) })
        }
        try batch.commit()
        let tokens = zip(checkpoint.tokens, request.categories).map { TokenInfo(token: $0.name, category: $1) }
        let maxError = stored.map(\.relativeError).max() ?? 0
        let storedBytes = stored.reduce(0) { $0 + $1.storedBytes } + embeddings.reduce(0) { $0 + $1.storedSize }

        let (version, versionID) = try store.database.write { db -> (Int, Int64) in
            let conceptID = try conceptID(named: request.name, baseID: baseID, baseName: request.base, in: db)
            let latest = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM concept_version WHERE concept_id = ?", arguments: [conceptID])
            let version = (latest ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO concept_version (concept_id, version, parent_version, kind, description, source_format,
                    compression_policy, max_relative_error, stored_bytes, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [conceptID, version, latest, request.kind.rawValue, request.description, checkpoint.format.rawValue,
                                 request.compression.description, maxError, storedBytes, Timestamp.now()])
            let versionID = db.lastInsertedRowID
            for (position, (token, put)) in zip(tokens, embeddings).enumerated() {
                try Store.recordBlob(put, in: db)
                try db.execute(sql: """
                    INSERT INTO version_token (version_id, position, token, category, embedding_blob, dimension) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [versionID, position, token.token, token.category, put.sha256, checkpoint.tokens[position].embedding.count])
            }
            for layer in stored { try layer.insert(versionID: versionID, in: db) }
            for source in sources {
                try db.execute(sql: "INSERT OR IGNORE INTO version_source (version_id, path, sha256) VALUES (?, ?, ?)",
                               arguments: [versionID, source.path, source.sha256])
            }
            for tag in request.tags {
                try db.execute(sql: """
                    INSERT INTO alias (concept_id, alias, version_id) VALUES (?, ?, ?)
                    ON CONFLICT(concept_id, alias) DO UPDATE SET version_id = excluded.version_id
                    """, arguments: [conceptID, tag, versionID])
            }
            try Store.refreshSearchIndex(conceptID: conceptID, in: db)
            return (version, versionID)
        }
        // Merge keys (issue 6): derived data, computed now so that composing is small dense algebra.
        // A base stored without its text encoder and tokenizer (a CompVis file) cannot compute them;
        // compose retries on first use and reports why.
        if let encoder = try? encoderLoad.wait() {
            let layerTable = Dictionary(uniqueKeysWithValues: layers.map { ($0.name, $0.crossAttentionLayer) })
            let exportLayers = try compressedLayers.compactMap { entry in
                try layerTable[entry.key.layer].map { ExportLayer(layer: $0, projection: entry.key.projection, base: try entry.base.matrix(), delta: entry.delta) }
            }
            _ = try? store.ensureMergeKeys(versionID: versionID, encoder: encoder, layers: exportLayers)
        }
        return RegisterResult(name: request.name, version: version, base: request.base, tokens: tokens, storedBytes: storedBytes,
                              compression: CompressionInfo(policy: request.compression.description, maxRelativeError: maxError))
    }

    // MARK: Checks

    /// One category per token; tags valid; embeddings as wide as the base's text encoder.
    static func checkTokens(_ checkpoint: ConceptCheckpoint, request: RegisterRequest, baseID: Int64, store: Store) throws {
        let names = checkpoint.tokens.map(\.name)
        guard request.categories.count == names.count else {
            throw RegistryError.invalidConcept(path: request.path.path, reason:
                "\(names.count) token(s) (\(names.joined(separator: ", "))) need \(names.count) categories, one per token in order; got \(request.categories.count)")
        }
        for tag in request.tags {
            try ConceptReference.validate(name: tag, kind: "alias")
            if tag == "latest" || Int(tag) != nil { throw RegistryError.invalidName(kind: "alias", name: tag, reason: "'latest' and numbers are reserved") }
        }
        let width = try store.database.read { db in
            try String.fetchOne(db, sql: """
                SELECT shape FROM base_tensor WHERE base_id = ? AND component = 'text_encoder' AND name LIKE '%token_embedding.weight'
                """, arguments: [baseID])
        }.map(JSONShape.decode)?.last
        if let width {
            for token in checkpoint.tokens where token.embedding.count != width {
                throw RegistryError.invalidConcept(path: request.path.path, reason:
                    "embedding of \(token.name) has \(token.embedding.count) values, the base's text encoder uses \(width)")
            }
        }
    }

    /// The concept's id, creating the concept on its first version; a concept stays on one base.
    static func conceptID(named name: String, baseID: Int64, baseName: String, in db: Database) throws -> Int64 {
        if let row = try Row.fetchOne(db, sql: "SELECT c.id, c.base_id, b.name AS base FROM concept c JOIN base_model b ON b.id = c.base_id WHERE c.name = ?",
                                      arguments: [name]) {
            guard row["base_id"] as Int64 == baseID else { throw RegistryError.wrongBase(concept: name, expected: baseName, actual: row["base"]) }
            return row["id"]
        }
        try db.execute(sql: "INSERT INTO concept (name, base_id, created_at) VALUES (?, ?, ?)", arguments: [name, baseID, Timestamp.now()])
        return db.lastInsertedRowID
    }

    /// ‖ΔW‖_F / ‖W0‖_F.
    static func deltaRatio(_ weight: ConceptCheckpoint.Weight, base w0: Matrix<Float>) throws -> Double {
        try weight.delta(base: w0).frobeniusNorm / max(w0.frobeniusNorm, .leastNormalMagnitude)
    }

    /// Another base with the same layer table on which every layer's ‖ΔW‖/‖W0‖ is plausible, if any.
    static func suggestBase(for checkpoint: ConceptCheckpoint, excluding baseID: Int64, store: Store) throws -> String? {
        let candidates = try store.database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name FROM base_model WHERE id <> ? ORDER BY name", arguments: [baseID])
                .map { (id: $0["id"] as Int64, name: $0["name"] as String, layers: try Store.baseLayers(baseID: $0["id"], in: db)) }
        }
        candidates: for candidate in candidates {
            guard (try? checkpoint.validate(against: candidate.layers.map(\.crossAttentionLayer))) != nil else { continue }
            for layer in candidate.layers {
                for projection in Projection.allCases {
                    guard let weight = checkpoint.weights[LayerKey(layer: layer.name, projection: projection)] else { continue candidates }
                    let w0 = try store.baseTensor(baseID: candidate.id, name: projection == .key ? layer.keyTensor : layer.valueTensor).matrix()
                    if try deltaRatio(weight, base: w0) > plausibleDeltaRatio { continue candidates }
                }
            }
            return candidate.name
        }
        return nil
    }
}

extension BaseLayer {
    var crossAttentionLayer: CrossAttentionLayer { CrossAttentionLayer(name: name, outFeatures: outFeatures, inFeatures: inFeatures) }
}
