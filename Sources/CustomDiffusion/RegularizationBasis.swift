import Foundation

/// The regularization Gram matrix `Σ = Cregᵀ Creg` (d × d, DESIGN.md §1) factored once per base ×
/// regularization set, so that every composition on that base reuses it.
///
/// Real text features are strongly correlated, so `Σ` is badly conditioned (κ of 1e6–1e11 is
/// normal), and it is singular when the set has fewer feature rows than `d` or when the final
/// layer norm leaves the features in a subspace. The policy, deliberate and reproducible: take
/// Σ's eigenvalues (Float64, `dsyevd`); if κ₂(Σ) = λmax/λmin exceeds `maximumCondition` (or λmin ≤ 0),
/// add the smallest ridge that brings it there,
///
///     λ = (λmax − κ·λmin) / (κ − 1),   so that   (λmax + λ)/(λmin + λ) = κ,
///
/// then factor `Σ + λI` by Cholesky. `ridge` reports λ (0 when none was needed). The reference in
/// `fixtures/generate_compose.py` applies the same rule.
public struct RegularizationBasis: Sendable {
    /// Σ as given (without the ridge): the objective's metric, used for the drift.
    public let sigma: Matrix<Double>
    /// Cholesky factor of `Σ + ridge·I`.
    public let factor: CholeskyFactor
    /// λ added to the diagonal before factoring (0 when Σ was well enough conditioned).
    public let ridge: Double

    /// Largest κ₂ solved without a ridge: beyond it the solves keep fewer than ~6 of Float64's 16
    /// digits and the merge's constraints start to drift.
    public static let maximumCondition = 1e10

    public enum Failure: Error, LocalizedError {
        case emptyRegularization
        case cannotFactor(dimension: Int)
        public var errorDescription: String? {
            switch self {
            case .emptyRegularization: "the regularization set produced no usable feature rows (Σ = 0)"
            case .cannotFactor(let d): "Σ (\(d)×\(d)) could not be factored even with a ridge: its features are not finite or not usable"
            }
        }
    }

    public init(sigma: Matrix<Double>) throws {
        let eigenvalues = try SymmetricEigen.eigenvalues(of: sigma)
        guard let largest = eigenvalues.last, largest > 0, largest.isFinite, let smallest = eigenvalues.first else {
            throw Failure.emptyRegularization
        }
        let kappa = Self.maximumCondition
        let ridge = smallest > 0 && largest / smallest <= kappa ? 0 : (largest - kappa * smallest) / (kappa - 1)
        var shifted = sigma
        if ridge > 0 { for i in 0..<sigma.rows { shifted[i, i] += ridge } }
        guard let factor = try? CholeskyFactor(shifted) else { throw Failure.cannotFactor(dimension: sigma.rows) }
        self.sigma = sigma
        self.factor = factor
        self.ridge = ridge
    }

    /// A basis read back from a cache.
    public init(sigma: Matrix<Double>, factor: CholeskyFactor, ridge: Double) {
        self.sigma = sigma
        self.factor = factor
        self.ridge = ridge
    }

    public var dimension: Int { sigma.rows }
}
