import Foundation

/// Failures of the LAPACK helpers, with the routine and its `info` code.
public enum LinearAlgebraError: Error, LocalizedError, Equatable {
    /// Cholesky found a leading minor that is not positive (`?potrf` info > 0).
    case notPositiveDefinite(order: Int, minor: Int)
    /// LU found an exactly zero pivot (`?getrf` info > 0).
    case singular(order: Int, pivot: Int)
    /// An iterative routine (eigen/SVD) did not converge.
    case didNotConverge(routine: String, info: Int)
    /// A routine rejected its arguments (info < 0): a bug in the caller.
    case illegalArgument(routine: String, argument: Int)
    case shapeMismatch(String)
    case nonFinite(String)

    public var errorDescription: String? {
        switch self {
        case .notPositiveDefinite(let n, let minor):
            "matrix of order \(n) is not positive definite (leading minor \(minor) is not positive)"
        case .singular(let n, let pivot): "matrix of order \(n) is singular (zero pivot at \(pivot))"
        case .didNotConverge(let routine, let info): "\(routine) did not converge (info \(info))"
        case .illegalArgument(let routine, let argument): "\(routine): illegal argument \(argument)"
        case .shapeMismatch(let what): "shape mismatch: \(what)"
        case .nonFinite(let what): "non-finite values in \(what)"
        }
    }
}

/// Maps LAPACKE's `info` return code to a Swift error.
@usableFromInline
func checkLAPACK(_ routine: String, _ info: Int32, onPositive: (Int) -> LinearAlgebraError) throws {
    if info < 0 { throw LinearAlgebraError.illegalArgument(routine: routine, argument: Int(-info)) }
    if info > 0 { throw onPositive(Int(info)) }
}
