import Foundation

/// The closed-form multi-concept merge (paper §3.2, DESIGN.md §1):
///
///     min_W ‖W Cregᵀ − W0 Cregᵀ‖²_F   subject to   W Cᵀ = Vᵀ
///     W = W0 + (Vᵀ − W0 Cᵀ) (C Σ⁻¹ Cᵀ)⁻¹ C Σ⁻¹
///
/// | code | paper / DESIGN.md | shape |
/// | --- | --- | --- |
/// | `targets` | `C` = stacked target features of all concepts, duplicates dropped | s × d |
/// | `layer.target` | `C W′ᵀ` (rows of `V`) | s × h |
/// | `layer.base` | `C W0ᵀ` | s × h |
/// | `basis` | `Σ = Cregᵀ Creg`, eigendecomposed; `Σ⁻¹` is its pseudo-inverse on the kept range | d × d |
/// | `d` | `D = C Σ⁻¹` | s × d |
/// | `e` | `E = C Σ⁻¹ Cᵀ` | s × s |
/// | `up`, `down` | `(Vᵀ − W0 Cᵀ) E⁻¹ U S` and `Vᵀ` of `D = U S Vᵀ`: `W − W0 = up · down` | h × s, s × d |
///
/// `Σ`, `D` and `E` do not depend on the layer: they are factored once per composition, and each
/// layer costs one s × s solve. No inverse is ever formed. Matches the Float64 NumPy/SciPy reference
/// in `fixtures/generate_compose.py`.
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
        /// The shared `down` factor in Float64 (s × d, orthonormal rows spanning `D = C Σ⁻¹`'s).
        public let down: Matrix<Double>
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

    public static func solve(targets c: Matrix<Double>, layers: [LayerKey: LayerTargets], basis: RegularizationBasis) throws -> Solution {
        let s = c.rows
        guard s > 0 else { throw Failure.noTargets }
        guard c.cols == basis.dimension else { throw Failure.dimensionMismatch("features are \(c.cols)-d, Σ is \(basis.dimension)-d") }
        guard s <= c.cols else { throw Failure.tooManyTargets(rows: s, dimension: c.cols) }
        // X = Σ⁻¹ Cᵀ (d × s); D = Xᵀ; E = C X.
        let x = try basis.solve(c.transposed)
        let dMatrix = x.transposed
        let e = Matrix.matmul(c, x)
        let eFactor: CholeskyFactor
        do {
            eFactor = try CholeskyFactor(e)
        } catch {
            throw Failure.dependentTargets(rows: s)
        }
        guard eFactor.reciprocalCondition >= minimumReciprocalConditionE else { throw Failure.dependentTargets(rows: s) }
        // Export factors: with D = U S Vᵀ (thin SVD, s × d), W − W0 = (up·U·S) · Vᵀ. Vᵀ has orthonormal
        // rows, so storing both factors in Float32 costs ~ε relative to the update itself even when
        // E is badly conditioned and `up`, `D` are large and cancel.
        let dSVD = try SingularValueDecomposition(dMatrix)
        var scale = dSVD.u
        for i in 0..<scale.rows { for j in 0..<scale.cols { scale[i, j] *= dSVD.singularValues[j] } }
        let down = dSVD.vt.asFloat
        var updates: [LayerKey: (up: Matrix<Float>, down: Matrix<Float>)] = [:]
        for (key, layer) in layers {
            guard layer.target.rows == s, layer.base.rows == s, layer.target.cols == layer.base.cols else {
                throw Failure.dimensionMismatch("\(key): targets \(layer.target.rows)×\(layer.target.cols), base \(layer.base.rows)×\(layer.base.cols), \(s) rows expected")
            }
            // up = (Vᵀ − W0 Cᵀ) E⁻¹ = ((E⁻¹ (C W′ᵀ − C W0ᵀ))ᵀ, E symmetric.
            let upT = try eFactor.solve(layer.target - layer.base)
            updates[key] = (Matrix.matmul(upT, scale, transposeA: true).asFloat, down)
        }
        return Solution(updates: updates, down: dSVD.vt, reciprocalConditionE: eFactor.reciprocalCondition)
    }

    /// `max |W Cnᵀ − Vnᵀ|` for one concept's rows `cn` (rows × d) with values `C W′ᵀ` / `C W0ᵀ`
    /// (rows × h): `W Cnᵀ = W0 Cnᵀ + up (down Cnᵀ)`.
    public static func constraintResidual(up: Matrix<Float>, down: Matrix<Double>, cn: Matrix<Double>, target: Matrix<Double>, base: Matrix<Double>) -> Double {
        let dc = Matrix.matmul(down, cn, transposeB: true)  // s × rows
        let change = Matrix.matmul(up.asDouble, dc)      // h × rows
        var worst = 0.0
        for i in 0..<cn.rows {
            for j in 0..<target.cols {
                worst = max(worst, abs(base[i, j] + change[j, i] - target[i, j]))
            }
        }
        return worst
    }

    /// `‖(W − W0) Cregᵀ‖²_F = trace(up · (down Σ downᵀ) · upᵀ)`, given `M = down Σ downᵀ` (s × s).
    public static func driftSquared(up: Matrix<Float>, m: Matrix<Double>) -> Double {
        let u = up.asDouble
        let um = Matrix.matmul(u, m)
        return zip(um.storage, u.storage).reduce(0.0) { $0 + $1.0 * $1.1 }
    }

    /// `M = down Σ downᵀ` (s × s), for the drift of every layer.
    public static func driftMetric(down: Matrix<Double>, sigma: Matrix<Double>) -> Matrix<Double> {
        Matrix.matmul(Matrix.matmul(down, sigma), down, transposeB: true)
    }

    /// `‖W0 Cregᵀ‖²_F = trace(W0 Σ W0ᵀ)` (the drift's denominator; cache it per base × set).
    public static func baseEnergy(w0: Matrix<Float>, sigma: Matrix<Double>) -> Double {
        let w = w0.asDouble
        let ws = Matrix.matmul(w, sigma)
        return zip(ws.storage, w.storage).reduce(0.0) { $0 + $1.0 * $1.1 }
    }
}
