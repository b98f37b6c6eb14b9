import Foundation

/// The closed-form multi-concept merge of Kumari et al., CVPR 2023, §3.2 (docs/METHOD.md §4): the
/// constrained least squares of Eq. 4 and its solution, Eq. 5 (derived in the paper's Appendix A),
///
///     min_W ‖W Cregᵀ − W0 Cregᵀ‖²_F   subject to   W Cᵀ = Vᵀ                    (Eq. 4)
///     W = W0 + (Vᵀ − W0 Cᵀ) (C Σ⁻¹ Cᵀ)⁻¹ C Σ⁻¹                                 (Eq. 5)
///
/// as `gdupdateWexact` in the original `src/diffusers_composenW.py` (and `src/composenW.py`) computes
/// it per layer with an LU of Σ and an explicit inverse of `C Σ⁻¹ Cᵀ`; here Σ is eigendecomposed once
/// and no inverse is formed.
///
/// | code | paper (docs/METHOD.md §4) | shape |
/// | --- | --- | --- |
/// | `targets` | `C` = stacked target features of all concepts, duplicates dropped | s × d |
/// | `differences` | `C W′ᵀ − C W0ᵀ` = `(Vᵀ − W0 Cᵀ)ᵀ` of every layer, side by side | s × Σh |
/// | `basis` | `Σ = Cregᵀ Creg`, eigendecomposed; `Σ⁻¹` is its pseudo-inverse on the kept range | d × d |
/// | `p`, `z` | `C Q_r` and `C Q_r Λ_r⁻¹`, so `D = C Σ⁻¹ = z Q_rᵀ` | s × r |
/// | `e` | `E = C Σ⁻¹ Cᵀ = z pᵀ` | s × s |
/// | `lq` | `z = L Q̃` (thin LQ) | s × s, s × r |
/// | `up`, `down` | `(Vᵀ − W0 Cᵀ) E⁻¹ L` and `Q̃ Q_rᵀ`: `W − W0 = up · down` | h × s, s × d |
///
/// `Σ`, `D` and `E` do not depend on the layer: they are factored once per composition, `E⁻¹ L` is
/// one Cholesky solve, and all layers together cost one Σh × s × s product. No inverse is ever
/// formed. Matches the Float64 NumPy/SciPy reference in `fixtures/generate_compose.py`.
public enum CompositionSolver {
    /// One layer's stacked target values: `C W′ᵀ` and `C W0ᵀ` (s × h each), rows aligned with `targets`.
    public struct LayerTargets: Sendable {
        public let target: Matrix<Double>
        public let base: Matrix<Double>
        public init(target: Matrix<Double>, base: Matrix<Double>) {
            self.target = target
            self.base = base
        }
    }

    /// The solve's shared factors and diagnostics.
    public struct Solution: Sendable {
        /// `W − W0 = up · down` per layer (up: h × s, down: s × d with orthonormal rows spanning D's), Float32 as exported.
        public let updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)]
        /// Every layer's `up` stacked (Σh × s, layers in ascending `LayerKey` order as in `LayerDifferences`).
        public let stackedUp: Matrix<Float>
        /// The shared `down` factor in Float64 (s × d, orthonormal rows spanning `D = C Σ⁻¹`'s).
        public let down: Matrix<Double>
        /// `M = down Σ downᵀ` (s × s): `‖(W − W0) Cregᵀ‖²_F = trace(up M upᵀ)` per layer (`layerDriftSquared`).
        public let driftMetric: Matrix<Double>
        /// LAPACK's estimate of 1/κ₁(E).
        public let reciprocalConditionE: Double
    }

    public enum Failure: Error, LocalizedError, Equatable {
        case noTargets
        case tooManyTargets(rows: Int, dimension: Int)
        case dimensionMismatch(String)
        case dependentTargets(rows: Int)
        public var errorDescription: String? {
            switch self {
            case .noTargets: "the chosen concepts have no target features"
            case .tooManyTargets(let rows, let d):
                "the concepts have \(rows) distinct target rows but the text features are only \(d)-dimensional; compose fewer concepts (at most \(d) rows)"
            case .dimensionMismatch(let what): "composition inputs disagree: \(what)"
            case .dependentTargets(let rows):
                "the \(rows) target rows are linearly dependent (C Σ⁻¹ Cᵀ is singular): two concepts ask for conflicting values of the same features"
            }
        }
    }

    /// 1/κ₁(E) below which the constraints are refused as dependent.
    public static let minimumReciprocalConditionE = 1e-13

    /// The merge from per-layer values (tests and small callers); see `solve(targets:differences:basis:)`.
    public static func solve(targets c: Matrix<Double>, layers: [LayerKey: LayerTargets], basis: RegularizationBasis) throws -> Solution {
        guard layers.values.allSatisfy({ $0.target.rows == c.rows }) else {
            throw Failure.dimensionMismatch("layer values must have \(c.rows) rows, one per target row")
        }
        return try solve(targets: c, differences: LayerDifferences(layers), basis: basis)
    }

    /// The merge of every layer at once (`differences`: `C W′ᵀ − C W0ᵀ` of all layers side by side).
    public static func solve(targets c: Matrix<Double>, differences: LayerDifferences, basis: RegularizationBasis) throws -> Solution {
        let s = c.rows
        guard s > 0 else { throw Failure.noTargets }
        guard c.cols == basis.dimension else { throw Failure.dimensionMismatch("features are \(c.cols)-d, Σ is \(basis.dimension)-d") }
        guard s <= c.cols else { throw Failure.tooManyTargets(rows: s, dimension: c.cols) }
        guard differences.rows == s else { throw Failure.dimensionMismatch("layer values have \(differences.rows) rows, \(s) target rows") }
        let r = basis.eigenvalues.count
        // With Σ⁺ = Q_r Λ_r⁻¹ Q_rᵀ (RegularizationBasis): P = C Q_r (s × r), Z = P Λ_r⁻¹, so
        // D = C Σ⁺ = Z Q_rᵀ and E = C Σ⁺ Cᵀ = Z Pᵀ. The only products with d-sized operands are
        // P and the export factor below.
        let p = Matrix.matmul(c, basis.eigenvectors)
        var z = p
        for i in 0..<s {
            for j in 0..<r { z.storage[i * r + j] /= basis.eigenvalues[j] }
        }
        let e = Matrix.matmul(z, p, transposeB: true)
        let eFactor: CholeskyFactor
        do {
            eFactor = try CholeskyFactor(e)
        } catch {
            throw Failure.dependentTargets(rows: s)
        }
        guard eFactor.reciprocalCondition >= minimumReciprocalConditionE else { throw Failure.dependentTargets(rows: s) }
        // Export factors: with Z = L Q̃ (thin LQ), D = L · (Q̃ Q_rᵀ), and `down` = Q̃ Q_rᵀ has
        // orthonormal rows (Q̃ Q̃ᵀ = I, Q_rᵀ Q_r = I). Then W − W0 = (Vᵀ − W0 Cᵀ) E⁻¹ L · down, and
        // G = E⁻¹ L (s × s) is one Cholesky solve shared by every layer. Storing both factors in
        // Float32 costs ~ε relative to the update itself even when E is badly conditioned and
        // `up`, `D` are large and cancel.
        let lq = try LQDecomposition(z)
        let g = try eFactor.solve(lq.l)
        let down = Matrix.matmul(lq.q, basis.eigenvectors, transposeB: true)
        // M = down Σ downᵀ = Q̃ (Q_rᵀ Σ Q_r) Q̃ᵀ = Q̃ Λ_r Q̃ᵀ: the drift's metric, without d × d work.
        var scaledQ = lq.q
        for i in 0..<s {
            for j in 0..<r { scaledQ.storage[i * r + j] *= basis.eigenvalues[j] }
        }
        let metric = Matrix.matmul(scaledQ, lq.q, transposeB: true)
        // up = (Vᵀ − W0 Cᵀ) G for every layer in one product (Σh × s); layer n's rows are its columns of `differences`.
        let stacked = Matrix.matmul(differences.values, g, transposeA: true).asFloat
        let downFloat = down.asFloat
        var updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)] = [:]
        updates.reserveCapacity(differences.keys.count)
        for (n, key) in differences.keys.enumerated() {
            let rows = differences.columns(ofLayer: n)
            updates[key] = (Matrix(rows: rows.count, cols: s, storage: Array(stacked.storage[(rows.lowerBound * s)..<(rows.upperBound * s)])), downFloat)
        }
        return Solution(updates: updates, stackedUp: stacked, down: down, driftMetric: metric, reciprocalConditionE: eFactor.reciprocalCondition)
    }

    /// Per target row `i`, `max |W cᵢᵀ − vᵢᵀ|` over every layer and output, from the Float32 factors as
    /// exported: `(W − W0) Cᵀ − (Vᵀ − W0 Cᵀ) = up (down Cᵀ) − differencesᵀ`, one `Σh × s × s` product.
    public static func rowResiduals(_ solution: Solution, targets c: Matrix<Double>, differences: LayerDifferences) -> [Double] {
        let projected = Matrix.matmul(solution.down, c, transposeB: true)  // s × s
        let change = Matrix.matmul(solution.stackedUp.asDouble, projected)  // Σh × s
        let s = c.rows, width = differences.width
        var worst = [Double](repeating: 0, count: s)
        for row in 0..<width {
            for i in 0..<s {
                worst[i] = max(worst[i], abs(change.storage[row * s + i] - differences.values.storage[i * width + row]))
            }
        }
        return worst
    }

    /// `‖(W − W0) Cregᵀ‖²_F` of every layer: `trace(up M upᵀ)` with the solution's drift metric.
    public static func layerDriftSquared(_ solution: Solution, differences: LayerDifferences) -> [LayerKey: Double] {
        let up = solution.stackedUp.asDouble
        let um = Matrix.matmul(up, solution.driftMetric)  // Σh × s
        var drift: [LayerKey: Double] = [:]
        for (n, key) in differences.keys.enumerated() {
            let range = (differences.offsets[n] * up.cols)..<(differences.offsets[n + 1] * up.cols)
            drift[key] = range.reduce(0.0) { $0 + um.storage[$1] * up.storage[$1] }
        }
        return drift
    }

    /// `‖W0 Cregᵀ‖²_F = trace(W0 Σ W0ᵀ)` (the drift's denominator; cache it per base × set).
    public static func baseEnergy(w0: Matrix<Float>, sigma: Matrix<Double>) -> Double {
        let w = w0.asDouble
        let ws = Matrix.matmul(w, sigma)
        return zip(ws.storage, w.storage).reduce(0.0) { $0 + $1.0 * $1.1 }
    }
}
