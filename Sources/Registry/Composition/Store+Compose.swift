import CustomDiffusion
import Foundation
import GRDB
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
        // C and the per-layer values stacked, rows already seen dropped (`CompositionProblem`).
        let problem: CompositionProblem
        do {
            problem = try CompositionProblem(concepts: keys, dimension: prepared.basis.dimension)
        } catch CompositionProblem.Failure.layerMismatch(let n, let key) {
            throw RegistryError.catalog("merge keys of \(references[n]) lack layer \(key) or disagree on its width")
        }
        let solution = try problem.solve(basis: prepared.basis)
        let residuals = problem.constraintResiduals(solution, concepts: keys.count)

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
            let residual = residuals[n]
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
        let drift = problem.regularizationDrift(solution) { prepared.baseEnergy[$0.description] }
        let result = ComposeResult(
            compositionID: id, base: versions[0].baseName, regset: regset, tokens: tokenMap, targets: problem.targets.rows,
            droppedDuplicateRows: problem.droppedDuplicateRows, maxConstraintResidual: reports.map(\.constraintResidual).max() ?? 0,
            regularizationDrift: drift, sigmaDroppedDirections: prepared.basis.droppedDirections,
            sigmaCondition: prepared.basis.condition, concepts: reports, seconds: 0, cached: false, files: [])
        return (result, solution.updates, tokens)
    }
}
