import CustomDiffusion
import Foundation
import TextEncoder

extension Store {
    /// Bumped whenever the solve or its inputs change meaning, so cached compositions are not reused.
    static let solverVersion = "closed-form-pinv-v3"

    /// `concepts compose REF… [--regset NAME] [--format F] [--no-cache] --out DIR` (CLI.md "Composition"):
    /// the paper's closed-form merge of any set of concept versions on one base (`CompositionSolver`),
    /// from merge keys computed at registration and Σ factored once per base × set; cached under
    /// (base, versions, regset, Σ, solver version); exported in `format`.
    public func compose(_ request: ComposeRequest) throws -> ComposeResult {
        let start = DispatchTime.now().uptimeNanoseconds
        guard !request.references.isEmpty else { throw RegistryError.invalidReference("compose needs at least one concept") }
        let resolved = try request.references.map { try resolve(ConceptReference(parsing: $0)) }
        for (i, version) in resolved.enumerated() {
            if let first = resolved.first, version.baseID != first.baseID {
                throw RegistryError.incompatibleConcepts("\(request.references[i]) is on base '\(version.baseName)', \(request.references[0]) on '\(first.baseName)': a composition uses one base")
            }
            if resolved[..<i].contains(where: { $0.versionID == version.versionID }) {
                throw RegistryError.incompatibleConcepts("\(request.references[i]) is listed twice")
            }
        }
        let base = resolved[0]
        let (regsetName, prepared) = try composeBasis(baseID: base.baseID, baseName: base.baseName, regset: request.regset)
        let compositionID = Self.compositionID(baseID: base.baseID, regset: regsetName, sigmaSHA256: prepared.sigmaSHA256,
                                               versionIDs: resolved.map(\.versionID))

        var result: ComposeResult
        var updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)]
        var tokens: [ConceptCheckpoint.Token]
        if request.useCache, let cached = try loadComposition(id: compositionID) {
            (result, updates, tokens) = cached
            result.cached = true
        } else {
            (result, updates, tokens) = try solveComposition(id: compositionID, references: request.references, versions: resolved,
                                                             regset: regsetName, prepared: prepared)
            // A recomputation (`--no-cache`) of a recorded key gives the same record: keep the stored one.
            if try !compositionExists(id: compositionID) {
                try storeComposition(result, updates: updates, tokens: tokens, baseID: base.baseID, versions: resolved)
            }
        }
        result.files = try exportComposition(baseID: base.baseID, updates: updates, tokens: tokens, format: request.format, to: request.output).files
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    // MARK: Solve

    private func solveComposition(id: String, references: [String], versions: [ResolvedVersion], regset: String, prepared: ComposeBasis)
        throws -> (ComposeResult, [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)], [ConceptCheckpoint.Token])
    {
        // Merge keys (computed now for versions registered before they existed; the encoder is loaded once).
        var encoder: (tokenizer: CLIPTokenizer, model: CLIPTextModel)?
        var keys: [MergeKeys] = []
        for version in versions {
            if let stored = try loadMergeKeys(versionID: version.versionID) {
                keys.append(stored)
            } else {
                if encoder == nil { encoder = try textEncoder(forBase: version.baseName) }
                keys.append(try ensureMergeKeys(versionID: version.versionID, encoder: encoder))
            }
        }
        // Stack C and the per-layer values, dropping rows whose causal prefix was already seen.
        var seen = Set<String>()
        var keptRows: [(concept: Int, row: Int)] = []
        for (n, k) in keys.enumerated() {
            for (r, prefix) in k.prefixKeys.enumerated() where seen.insert(prefix).inserted { keptRows.append((n, r)) }
        }
        let totalRows = keys.reduce(0) { $0 + $1.features.rows }
        let d = prepared.basis.dimension
        func stack(_ pick: (MergeKeys) -> Matrix<Float>, cols: Int) -> Matrix<Double> {
            var out = Matrix<Double>(zeros: keptRows.count, cols)
            for (i, entry) in keptRows.enumerated() {
                let m = pick(keys[entry.concept])
                for j in 0..<cols { out.storage[i * cols + j] = Double(m.storage[entry.row * cols + j]) }
            }
            return out
        }
        let c = stack({ $0.features }, cols: d)
        guard let first = keys.first else { throw CompositionSolver.Failure.noTargets }
        var differences = LayerDifferences(rows: keptRows.count, widths: first.layers.mapValues(\.target.cols))
        for (n, key) in differences.keys.enumerated() {
            let h = differences.columns(ofLayer: n).count
            for (i, entry) in keptRows.enumerated() {
                guard let value = keys[entry.concept].layers[key], value.target.cols == h, value.base.cols == h else {
                    throw RegistryError.missingLayer(owner: "merge keys of \(references[entry.concept]) (or their width disagrees)", layer: key.description)
                }
                value.target.storage.withUnsafeBufferPointer { target in
                    value.base.storage.withUnsafeBufferPointer { base in
                        differences.set(row: i, layer: n, target: target.baseAddress! + entry.row * h, base: base.baseAddress! + entry.row * h)
                    }
                }
            }
        }
        let solution = try CompositionSolver.solve(targets: c, differences: differences, basis: prepared.basis)
        let rowResiduals = CompositionSolver.rowResiduals(solution, targets: c, differences: differences)

        // Diagnostics: per-concept constraint residual (all its rows), drift per layer.
        var reports: [ComposeResult.ConceptReport] = []
        var tokens: [ConceptCheckpoint.Token] = []
        var requested: [(concept: String, token: String)] = []
        var embeddingsByVersion: [[ConceptCheckpoint.Token]] = []
        for version in versions {
            let embeddings = try tokenEmbeddings(versionID: version.versionID)
            embeddingsByVersion.append(embeddings)
            requested += embeddings.map { (version.name, $0.name) }
        }
        let names = TokenRenaming.assign(requested)
        var nameIndex = 0
        var tokenMap: [String: String] = [:]
        for (n, version) in versions.enumerated() {
            // Over the concept's rows that are constraints of the solve (a dropped duplicate is
            // constrained through the identical row kept from an earlier concept).
            let residual = keptRows.indices.filter { keptRows[$0].concept == n }.map { rowResiduals[$0] }.max() ?? 0
            var own: [String] = []
            for embedding in embeddingsByVersion[n] {
                own.append(names[nameIndex])
                tokens.append(ConceptCheckpoint.Token(name: names[nameIndex], embedding: embedding.embedding))
                nameIndex += 1
            }
            tokenMap[references[n]] = own.joined(separator: " ")
            reports.append(.init(reference: references[n], version: "\(version.name)@\(version.version)", tokens: own,
                                 targetRows: keys[n].features.rows, constraintResidual: residual))
        }
        var drift = 0.0
        for (key, squared) in CompositionSolver.layerDriftSquared(solution, differences: differences) {
            let denominator = prepared.baseEnergy[key.description] ?? 0
            guard denominator > 0 else { continue }
            drift = max(drift, (max(0, squared) / denominator).squareRoot())
        }
        let result = ComposeResult(
            compositionID: id, base: versions[0].baseName, regset: regset, tokens: tokenMap, targets: c.rows,
            droppedDuplicateRows: totalRows - c.rows, maxConstraintResidual: reports.map(\.constraintResidual).max() ?? 0,
            regularizationDrift: drift, sigmaDroppedDirections: prepared.basis.droppedDirections,
            sigmaCondition: prepared.basis.condition, concepts: reports, seconds: 0, cached: false, files: [])
        return (result, solution.updates, tokens)
    }
}
