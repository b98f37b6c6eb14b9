import Foundation

/// The regularization Gram matrix `Σ = Cregᵀ Creg` (d × d) of Kumari et al., CVPR 2023, §3.2, Eq. 5
/// (docs/METHOD.md §4), decomposed once per base × regularization set so that every composition on
/// that base reuses it (the original factors it per layer: `lu_factor(C)` in `gdupdateWexact`,
/// `src/diffusers_composenW.py`).
///
/// Real text features are strongly correlated, so `Σ` is badly conditioned (κ of 1e6–1e11 is
/// normal), and it is exactly singular when the set has fewer feature rows than `d`, or when the
/// final layer norm confines the features to a subspace (LayerNorm with a constant gain and zero
/// bias makes every feature row sum to zero: Σ·1 = 0). Solving against such a Σ with Cholesky, or
/// with a tiny ridge, amplifies the Float32 rounding of the features along the null directions by
/// 1/λ and makes `W − W0` meaningless there. The policy, deliberate and reproducible:
///
///     Σ = Q Λ Qᵀ (Float64, `dsyevd`);  keep the eigenpairs with λᵢ > 10⁻¹⁰ · λmax;
///     Σ⁺ = Q_r Λ_r⁻¹ Q_rᵀ   (the pseudo-inverse: the λ → 0 limit of (Σ + λI)⁻¹ on range(Σ))
///
/// and every `Σ⁻¹ X` of the merge is `Σ⁺ X`. On a full-rank Σ with κ ≤ 10¹⁰ this is the exact
/// inverse; otherwise `droppedDirections` says how many directions were left out, and `condition`
/// is κ on what was kept. The Float64 reference (`fixtures/generate_compose.py`) uses the same rule.
public struct RegularizationBasis: Sendable {
    /// Σ as given: the objective's metric, used for the drift.
    public let sigma: Matrix<Double>
    /// Eigenvectors kept (`d × r`, columns).
    public let eigenvectors: Matrix<Double>
    /// Their eigenvalues, ascending, aligned with the columns.
    public let eigenvalues: [Double]
    /// `d − r`: directions of Σ treated as null.
    public let droppedDirections: Int

    /// Eigenvalues at or below this fraction of the largest are treated as zero.
    public static let relativeEigenvalueCutoff = 1e-10

    public enum Failure: Error, LocalizedError {
        case emptyRegularization
        case shapeMismatch(String)
        public var errorDescription: String? {
            switch self {
            case .emptyRegularization: "the regularization set produced no usable feature rows (Σ = 0)"
            case .shapeMismatch(let what): "regularization basis: \(what)"
            }
        }
    }

    public init(sigma: Matrix<Double>) throws {
        let decomposition = try SymmetricEigen(sigma)
        try self.init(sigma: sigma, eigenvectors: decomposition.vectors, eigenvalues: decomposition.values)
    }

    /// Keeps the eigenpairs above the cutoff of a full decomposition (also used for cached ones).
    public init(sigma: Matrix<Double>, eigenvectors: Matrix<Double>, eigenvalues: [Double]) throws {
        let d = sigma.rows
        guard eigenvectors.rows == d, eigenvectors.cols == eigenvalues.count else {
            throw Failure.shapeMismatch("\(eigenvectors.rows)×\(eigenvectors.cols) eigenvectors, \(eigenvalues.count) eigenvalues, Σ is \(d)×\(d)")
        }
        guard let largest = eigenvalues.max(), largest > 0, largest.isFinite else { throw Failure.emptyRegularization }
        // `dsyevd` returns eigenvalues in ascending order: the kept ones are a suffix.
        let firstKept = eigenvalues.firstIndex { $0 > Self.relativeEigenvalueCutoff * largest } ?? eigenvalues.count
        let kept = firstKept..<eigenvalues.count
        guard zip(eigenvalues, eigenvalues.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw Failure.shapeMismatch("eigenvalues must be in ascending order")
        }
        self.sigma = sigma
        self.eigenvectors = eigenvectors.columns(kept)
        self.eigenvalues = kept.map { eigenvalues[$0] }
        droppedDirections = d - kept.count
    }

    public var dimension: Int { sigma.rows }

    /// κ₂ of Σ on the kept directions.
    public var condition: Double { (eigenvalues.max() ?? 0) / (eigenvalues.min() ?? 1) }

    /// `Σ⁺ B` = `Q_r (Λ_r⁻¹ (Q_rᵀ B))` for `B` (d × k).
    public func solve(_ b: Matrix<Double>) throws -> Matrix<Double> {
        guard b.rows == dimension else { throw Failure.shapeMismatch("right-hand side has \(b.rows) rows, Σ is \(dimension)×\(dimension)") }
        var projected = Matrix.matmul(eigenvectors, b, transposeA: true)  // r × k
        for i in 0..<projected.rows {
            let scale = 1 / eigenvalues[i]
            for j in 0..<projected.cols { projected.storage[i * projected.cols + j] *= scale }
        }
        return Matrix.matmul(eigenvectors, projected)
    }
}
