import Foundation

/// The constrained merge of several concepts, set up (Kumari et al., CVPR 2023, §3.2, Eq. 4; docs/METHOD.md §3–4):
/// the target features `C` of all concepts stacked (s × d, Float64) with, per layer, the right-hand
/// side `C W′ᵀ − C W0ᵀ` (`LayerDifferences`), ready for `CompositionSolver`.
///
/// Rows are taken concept by concept in the order given; a row whose *prefix key* was seen before is
/// dropped (the encoder is causal, so an equal key means an equal feature row: the `a photo of`
/// rows every object concept shares). Keeping one copy keeps `C Σ⁻¹ Cᵀ` invertible; the dropped
/// row is constrained through the identical one kept. This is the stacking and `removal_indices` of
/// `compose` in the original `src/diffusers_composenW.py`, which compares the feature rows themselves.
public struct CompositionProblem: Sendable {
    /// Why the concepts' stored inputs cannot be stacked.
    public enum Failure: Error, Equatable, Sendable {
        /// Concept `concept` (index in the order given) lacks `layer`, or its values for it have another width.
        case layerMismatch(concept: Int, layer: LayerKey)
    }

    /// The target rows kept, in order: (index of the concept, row within its `features`).
    public let keptRows: [(concept: Int, row: Int)]
    /// `C` (s × d): the kept feature rows, Float64.
    public let targets: Matrix<Double>
    /// `C W′ᵀ − C W0ᵀ` of every layer, rows aligned with `targets`.
    public let differences: LayerDifferences
    /// Feature rows of all concepts before duplicates were dropped.
    public let totalRows: Int
    /// Rows dropped as duplicates of an earlier row.
    public var droppedDuplicateRows: Int { totalRows - targets.rows }

    /// Stacks the concepts' targets (`dimension` = d, the text encoder's width) and their layer values.
    /// The layers are those of the first concept; every concept must have each of them.
    public init(concepts: [ConceptTargets], dimension d: Int) throws {
        var seen = Set<String>()
        var keptRows: [(concept: Int, row: Int)] = []
        for (n, k) in concepts.enumerated() {
            for (r, prefix) in k.prefixKeys.enumerated() where seen.insert(prefix).inserted { keptRows.append((n, r)) }
        }
        totalRows = concepts.reduce(0) { $0 + $1.features.rows }
        var c = Matrix<Double>(zeros: keptRows.count, d)
        for (i, entry) in keptRows.enumerated() {
            let m = concepts[entry.concept].features
            for j in 0..<d { c.storage[i * d + j] = Double(m.storage[entry.row * d + j]) }
        }
        guard let first = concepts.first else { throw CompositionSolver.Failure.noTargets }
        var differences = LayerDifferences(rows: keptRows.count, widths: first.layers.mapValues(\.target.cols))
        for (n, key) in differences.keys.enumerated() {
            let h = differences.columns(ofLayer: n).count
            for (i, entry) in keptRows.enumerated() {
                guard let value = concepts[entry.concept].layers[key], value.target.cols == h, value.base.cols == h else {
                    throw Failure.layerMismatch(concept: entry.concept, layer: key)
                }
                value.target.storage.withUnsafeBufferPointer { target in
                    value.base.storage.withUnsafeBufferPointer { base in
                        differences.set(row: i, layer: n, target: target.baseAddress! + entry.row * h, base: base.baseAddress! + entry.row * h)
                    }
                }
            }
        }
        self.keptRows = keptRows
        self.targets = c
        self.differences = differences
    }

    /// The closed-form solve (`CompositionSolver.solve`) against Σ's eigenbasis.
    public func solve(basis: RegularizationBasis) throws -> CompositionSolver.Solution {
        try CompositionSolver.solve(targets: targets, differences: differences, basis: basis)
    }

    /// Per concept (in the order given), max |W Cnᵀ − Vnᵀ| over its kept rows and every layer (0 for a
    /// concept whose rows were all dropped: they are constrained through the identical rows kept).
    public func constraintResiduals(_ solution: CompositionSolver.Solution, concepts: Int) -> [Double] {
        let rowResiduals = CompositionSolver.rowResiduals(solution, targets: targets, differences: differences)
        return (0..<concepts).map { n in
            keptRows.indices.filter { keptRows[$0].concept == n }.map { rowResiduals[$0] }.max() ?? 0
        }
    }

    /// max over layers of ‖(W − W0) Cregᵀ‖_F / ‖W0 Cregᵀ‖_F, given each layer's ‖W0 Cregᵀ‖²_F
    /// (`CompositionSolver.baseEnergy`; a layer without a positive one is skipped).
    public func regularizationDrift(_ solution: CompositionSolver.Solution, baseEnergy: (LayerKey) -> Double?) -> Double {
        var drift = 0.0
        for (key, squared) in CompositionSolver.layerDriftSquared(solution, differences: differences) {
            let denominator = baseEnergy(key) ?? 0
            guard denominator > 0 else { continue }
            drift = max(drift, (max(0, squared) / denominator).squareRoot())
        }
        return drift
    }
}
