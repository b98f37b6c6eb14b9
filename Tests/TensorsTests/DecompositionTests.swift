import Testing
@testable import Tensors

/// `SymmetricEigen` (`dsyevd`), `SingularValueDecomposition` (`sgesdd` / `dgesdd`) and
/// `Matrix.leastSquares` (`dgels`) against numpy (`fixtures/tensors/linalg.json`).
///
/// Tolerances (relative to the largest entry / singular value): Float64 1e-12 for eigen- and
/// singular values, 1e-10 for reconstructions, orthonormality and least-squares solutions;
/// Float32 SVD 1e-5.
@Suite("Eigen, SVD and least squares")
struct DecompositionTests {
    static func relativeError(_ got: [Double], _ expected: [Double]) -> Double {
        guard got.count == expected.count else { return .infinity }
        let scale = expected.reduce(0) { max($0, abs($1)) }
        return zip(got, expected).reduce(0) { max($0, abs($1.0 - $1.1)) } / max(scale, 1e-300)
    }

    /// U·diag(s)·Vᵀ.
    static func reconstruct<S>(_ svd: SingularValueDecomposition<S>) -> Matrix<S> {
        var us = svd.u
        for i in 0..<us.rows { for j in 0..<us.cols { us[i, j] *= svd.singularValues[j] } }
        return Matrix.matmul(us, svd.vt)
    }

    // MARK: Symmetric eigen

    @Test("eigenvalues ascending and equal to numpy.linalg.eigvalsh; Q·Λ·Qᵀ = A with orthonormal Q")
    func symmetricEigen() throws {
        let e = try Fixtures.linearAlgebra().eigen
        let a = e.a.double
        let eig = try SymmetricEigen(a)
        #expect(Self.relativeError(eig.values, e.values) < 1e-12)
        #expect(eig.values == eig.values.sorted())
        #expect(orthonormalityError(columnsOf: eig.vectors) < 1e-12)
        var ql = eig.vectors
        for i in 0..<ql.rows { for j in 0..<ql.cols { ql[i, j] *= eig.values[j] } }
        let back = Matrix.matmul(ql, eig.vectors, transposeB: true)
        #expect(maxAbsDifference(back, a) / a.maxAbs < 1e-10)
        // Each column is an eigenvector: A·q = λ·q.
        let aq = a * eig.vectors
        #expect(maxAbsDifference(aq, ql) / a.maxAbs < 1e-10)
    }

    @Test("eigen refuses non-square and non-finite input")
    func eigenErrors() {
        #expect(throws: LinearAlgebraError.shapeMismatch("eigen needs a square matrix, got 2×3")) { try SymmetricEigen(Matrix(zeros: 2, 3)) }
        #expect(throws: LinearAlgebraError.nonFinite("matrix to decompose")) {
            try SymmetricEigen(Matrix(rows: 2, cols: 2, storage: [1, 0, 0, .nan]))
        }
    }

    // MARK: SVD

    @Test("Float64 SVD: singular values match numpy, U·S·Vᵀ = A, U and V orthonormal (tall, wide, square, rank 2)")
    func svdDouble() throws {
        for c in try Fixtures.linearAlgebra().svd {
            let a = c.a.double
            let svd = try SingularValueDecomposition(a)
            let k = min(a.rows, a.cols)
            #expect(svd.u.rows == a.rows && svd.u.cols == k && svd.vt.rows == k && svd.vt.cols == a.cols)
            #expect(Self.relativeError(svd.singularValues, c.singularValues) < 1e-12, "\(a.rows)×\(a.cols)")
            #expect(svd.singularValues == svd.singularValues.sorted(by: >))
            #expect(maxAbsDifference(Self.reconstruct(svd), a) / a.maxAbs < 1e-10)
            #expect(orthonormalityError(columnsOf: svd.u) < 1e-10)
            #expect(orthonormalityError(columnsOf: svd.vt.transposed) < 1e-10)
        }
    }

    // MARK: LQ

    @Test("LQ of the wide fixture matrices: L lower triangular, Q orthonormal rows, L·Q = A, σ(L) = numpy's σ(A)")
    func lqWide() throws {
        let wide = try Fixtures.linearAlgebra().svd.filter { $0.a.double.rows <= $0.a.double.cols }
        #expect(!wide.isEmpty)
        for c in wide {
            let a = c.a.double
            let lq = try LQDecomposition(a)
            #expect(lq.l.rows == a.rows && lq.l.cols == a.rows && lq.q.rows == a.rows && lq.q.cols == a.cols)
            for i in 0..<lq.l.rows { for j in (i + 1)..<max(i + 1, lq.l.cols) { #expect(lq.l[i, j] == 0) } }
            #expect(maxAbsDifference(Matrix.matmul(lq.l, lq.q), a) / a.maxAbs < 1e-10, "\(a.rows)×\(a.cols)")
            #expect(orthonormalityError(columnsOf: lq.q.transposed) < 1e-10)
            // Q has orthonormal rows, so A and L share their singular values.
            #expect(Self.relativeError(try SingularValueDecomposition(lq.l).singularValues, c.singularValues) < 1e-10)
        }
    }

    @Test("LQ refuses a tall matrix and non-finite input")
    func lqRefusals() {
        #expect(throws: LinearAlgebraError.self) { try LQDecomposition(Matrix<Double>(zeros: 3, 2)) }
        var a = Matrix<Double>(zeros: 2, 3)
        a[0, 1] = .nan
        #expect(throws: LinearAlgebraError.nonFinite("matrix to factor")) { try LQDecomposition(a) }
    }

    @Test("a rank-2 matrix has exactly two singular values above rounding")
    func svdRankDeficient() throws {
        let c = try #require(Fixtures.linearAlgebra().svd.last)
        let s = try SingularValueDecomposition(c.a.double).singularValues
        #expect(s.count == 5)
        #expect(s[1] > 1e-3 * s[0])
        #expect(s[2...].allSatisfy { $0 < 1e-12 * s[0] })
    }

    @Test("Float32 SVD: singular values and reconstruction within 1e-5")
    func svdFloat() throws {
        for c in try Fixtures.linearAlgebra().svd {
            let a = c.a.float
            let svd = try SingularValueDecomposition(a)
            #expect(Self.relativeError(svd.singularValues.map(Double.init), c.singularValues) < 1e-5, "\(a.rows)×\(a.cols)")
            #expect(maxAbsDifference(Self.reconstruct(svd), a) / a.maxAbs < 1e-5)
            #expect(orthonormalityError(columnsOf: svd.u) < 1e-5)
            #expect(orthonormalityError(columnsOf: svd.vt.transposed) < 1e-5)
        }
    }

    @Test("SVD of an empty matrix is empty; non-finite input is refused")
    func svdEdges() throws {
        let empty = try SingularValueDecomposition(Matrix<Double>(zeros: 0, 3))
        #expect(empty.singularValues.isEmpty && empty.u.rows == 0 && empty.vt.cols == 3)
        #expect(throws: LinearAlgebraError.nonFinite("matrix to decompose")) {
            try SingularValueDecomposition(Matrix<Float>(rows: 1, cols: 2, storage: [1, .infinity]))
        }
    }

    // MARK: Least squares

    @Test("least squares matches numpy.linalg.lstsq (overdetermined, underdetermined minimum-norm, square)")
    func leastSquares() throws {
        for c in try Fixtures.linearAlgebra().leastSquares {
            let a = c.a.double, b = c.b.double
            let x = try Matrix.leastSquares(a, b)
            #expect(x.rows == a.cols && x.cols == b.cols)
            #expect(maxAbsDifference(x, c.x.double) / c.x.double.maxAbs < 1e-10, "\(a.rows)×\(a.cols)")
            if a.rows >= a.cols {
                // Normal equations: the residual is orthogonal to the columns of A.
                let normal = Matrix.matmul(a, a * x - b, transposeA: true)
                #expect(normal.maxAbs < 1e-10 * a.maxAbs * b.maxAbs)
            } else {
                // Underdetermined: A·x = b exactly.
                #expect(maxAbsDifference(a * x, b) < 1e-10 * b.maxAbs)
            }
        }
    }

    @Test("least squares refuses mismatched rows, rank-deficient A and non-finite input")
    func leastSquaresErrors() {
        #expect(throws: LinearAlgebraError.shapeMismatch("A has 3 rows, B has 2")) {
            try Matrix.leastSquares(Matrix(zeros: 3, 2), Matrix(zeros: 2, 1))
        }
        // A zero column makes R's diagonal exactly zero.
        let deficient = Matrix<Double>(rows: 3, cols: 2, storage: [1, 0, 2, 0, 3, 0])
        #expect(throws: LinearAlgebraError.self) { try Matrix.leastSquares(deficient, Matrix(zeros: 3, 1)) }
        do {
            _ = try Matrix.leastSquares(deficient, Matrix(zeros: 3, 1))
        } catch let error as LinearAlgebraError {
            guard case .singular = error else { Issue.record("expected singular, got \(error)"); return }
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: LinearAlgebraError.nonFinite("least-squares matrix")) {
            try Matrix.leastSquares(Matrix(rows: 2, cols: 1, storage: [1, .nan]), Matrix(rows: 2, cols: 1, storage: [1, 2]))
        }
        #expect(throws: LinearAlgebraError.nonFinite("right-hand side")) {
            try Matrix.leastSquares(Matrix(rows: 2, cols: 1, storage: [1, 2]), Matrix(rows: 2, cols: 1, storage: [.infinity, 2]))
        }
    }
}
