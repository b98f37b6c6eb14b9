import Testing
@testable import Tensors

/// `CholeskyFactor` and `LUFactor` (LAPACK `dpotrf/dpotrs/dpocon`, `dgetrf/dgetrs/dgecon`) against
/// numpy (`fixtures/tensors/linalg.json`), and their typed errors.
///
/// Tolerances: factors and solutions to 1e-10 relative to the largest entry (the matrices are
/// well conditioned, κ₁ < 1e3); reciprocal condition estimates within a factor of 3 of
/// 1/`numpy.linalg.cond(A, 1)` (LAPACK estimates κ₁, it does not compute it).
@Suite("Cholesky and LU")
struct FactorizationTests {
    static func relativeError(_ got: Matrix<Double>, _ expected: Matrix<Double>) -> Double {
        maxAbsDifference(got, expected) / max(expected.maxAbs, 1e-300)
    }

    static func withinFactorOfThree(estimate rcond: Double, cond1: Double) -> Bool {
        let ratio = rcond * cond1
        return ratio >= 1.0 / 3 && ratio <= 3
    }

    // MARK: Cholesky

    @Test("Cholesky factor and solve match numpy; the factor is reused for several right-hand sides")
    func choleskySolve() throws {
        let c = try Fixtures.linearAlgebra().cholesky
        let factor = try CholeskyFactor(c.a.double)
        let n = c.a.rows
        var lower = Matrix<Double>(zeros: n, n)
        for i in 0..<n { for j in 0...i { lower[i, j] = factor.factor[i, j] } }
        #expect(Self.relativeError(lower, c.l.double) < 1e-12)
        #expect(Self.relativeError(try factor.solve(c.b.double), c.x.double) < 1e-10)
        // A second, different right-hand side through the same factor: A·X = A·I.
        #expect(Self.relativeError(try factor.solve(c.a.double), .identity(n)) < 1e-10)
        #expect(Self.withinFactorOfThree(estimate: factor.reciprocalCondition, cond1: c.cond1),
                "rcond \(factor.reciprocalCondition) vs 1/κ₁ \(1 / c.cond1)")
    }

    @Test("Cholesky's rcond tracks an ill-conditioned Hilbert matrix (κ₁ ≈ 1e9)")
    func choleskyIllConditioned() throws {
        let h = try Fixtures.linearAlgebra().hilbert
        let factor = try CholeskyFactor(h.a.double)
        #expect(h.cond1 > 1e8)
        #expect(Self.withinFactorOfThree(estimate: factor.reciprocalCondition, cond1: h.cond1),
                "rcond \(factor.reciprocalCondition) vs 1/κ₁ \(1 / h.cond1)")
    }

    @Test("an indefinite matrix is refused with the failing leading minor")
    func notPositiveDefinite() {
        let indefinite = Matrix<Double>(rows: 2, cols: 2, storage: [1, 2, 2, 1])
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 2, minor: 2)) { try CholeskyFactor(indefinite) }
        let negative = Matrix<Double>(rows: 3, cols: 3, storage: [-1, 0, 0, 0, 1, 0, 0, 0, 1])
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 3, minor: 1)) { try CholeskyFactor(negative) }
        #expect(LinearAlgebraError.notPositiveDefinite(order: 2, minor: 2).errorDescription?.contains("not positive definite") == true)
    }

    @Test("Cholesky refuses non-square, non-finite input and mis-shaped right-hand sides")
    func choleskyInputErrors() throws {
        #expect(throws: LinearAlgebraError.self) { try CholeskyFactor(Matrix<Double>(zeros: 2, 3)) }
        do {
            _ = try CholeskyFactor(Matrix<Double>(zeros: 2, 3))
        } catch let error as LinearAlgebraError {
            guard case .shapeMismatch = error else { Issue.record("expected shapeMismatch, got \(error)"); return }
        }
        #expect(throws: LinearAlgebraError.nonFinite("matrix to factor")) {
            try CholeskyFactor(Matrix(rows: 2, cols: 2, storage: [1, .nan, .nan, 1]))
        }
        #expect(throws: LinearAlgebraError.nonFinite("matrix to factor")) {
            try CholeskyFactor(Matrix(rows: 2, cols: 2, storage: [.infinity, 0, 0, 1]))
        }
        let factor = try CholeskyFactor(.identity(3))
        #expect(throws: LinearAlgebraError.shapeMismatch("right-hand side has 2 rows, factor has order 3")) {
            try factor.solve(Matrix(zeros: 2, 1))
        }
        #expect(throws: LinearAlgebraError.nonFinite("right-hand side")) {
            try factor.solve(Matrix(rows: 3, cols: 1, storage: [1, .infinity, 0]))
        }
        let none = try factor.solve(Matrix(zeros: 3, 0))
        #expect(none.rows == 3 && none.cols == 0)
    }

    // MARK: LU

    @Test("LU solve matches numpy.linalg.solve, and rcond is within a factor of 3 of 1/κ₁")
    func luSolve() throws {
        let c = try Fixtures.linearAlgebra().lu
        let factor = try LUFactor(c.a.double)
        #expect(factor.pivots.count == c.a.rows)
        #expect(Self.relativeError(try factor.solve(c.b.double), c.x.double) < 1e-10)
        #expect(Self.relativeError(try factor.solve(c.a.double), .identity(c.a.rows)) < 1e-10)
        #expect(Self.withinFactorOfThree(estimate: factor.reciprocalCondition, cond1: c.cond1),
                "rcond \(factor.reciprocalCondition) vs 1/κ₁ \(1 / c.cond1)")
    }

    @Test("LU of a nearly singular matrix factors, and rcond reports κ₁ ≈ 1e8")
    func luNearlySingular() throws {
        let c = try Fixtures.linearAlgebra().nearSingular
        let factor = try LUFactor(c.a.double)
        #expect(factor.reciprocalCondition < 1e-6)
        #expect(Self.withinFactorOfThree(estimate: factor.reciprocalCondition, cond1: c.cond1),
                "rcond \(factor.reciprocalCondition) vs 1/κ₁ \(1 / c.cond1)")
    }

    @Test("an exactly singular matrix is refused with the zero pivot")
    func singular() {
        // Rank 1: after pivoting on the row (2, 4), the second pivot is exactly 1 − 0.5·2 = 0.
        #expect(throws: LinearAlgebraError.singular(order: 2, pivot: 2)) {
            try LUFactor(Matrix(rows: 2, cols: 2, storage: [1, 2, 2, 4]))
        }
        #expect(throws: LinearAlgebraError.singular(order: 3, pivot: 1)) { try LUFactor(Matrix(zeros: 3, 3)) }
        #expect(LinearAlgebraError.singular(order: 3, pivot: 1).errorDescription?.contains("singular") == true)
    }

    @Test("LU refuses non-square, non-finite input and mis-shaped right-hand sides")
    func luInputErrors() throws {
        #expect(throws: LinearAlgebraError.shapeMismatch("LU needs a square matrix, got 3×2")) { try LUFactor(Matrix(zeros: 3, 2)) }
        #expect(throws: LinearAlgebraError.nonFinite("matrix to factor")) {
            try LUFactor(Matrix(rows: 2, cols: 2, storage: [1, 0, 0, -.infinity]))
        }
        let factor = try LUFactor(.identity(2))
        #expect(throws: LinearAlgebraError.self) { try factor.solve(Matrix(zeros: 3, 1)) }
        #expect(try factor.solve(Matrix(rows: 2, cols: 1, storage: [5, 7])).storage == [5, 7])
        #expect(throws: LinearAlgebraError.nonFinite("right-hand side")) {
            try factor.solve(Matrix(rows: 2, cols: 1, storage: [.nan, 7]))
        }
    }
}
