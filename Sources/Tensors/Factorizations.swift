import CLAPACKE

/// Float64 factorisations and solves through LAPACKE (row-major). Each factor is computed once and
/// reused for any number of right-hand sides — no explicit inverses.

private let rowMajor = Int32(LAPACK_ROW_MAJOR)
private func char(_ c: Character) -> CChar { CChar(bitPattern: c.asciiValue!) }

// MARK: - Cholesky

/// `A = L·Lᵀ` of a symmetric positive definite matrix (`dpotrf`), with the reciprocal condition
/// number estimate (`dpocon`, 1-norm) so callers can tell when precision is being lost.
public struct CholeskyFactor: Sendable {
    /// Lower triangle holds L (the upper triangle is left as it was).
    public let factor: Matrix<Double>
    /// Estimated 1/κ₁(A); near machine epsilon means the solves lose most of their digits.
    public let reciprocalCondition: Double

    public init(_ a: Matrix<Double>) throws {
        guard a.rows == a.cols else { throw LinearAlgebraError.shapeMismatch("Cholesky needs a square matrix, got \(a.rows)×\(a.cols)") }
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("matrix to factor") }
        let n = a.rows
        var l = a
        BLASRuntime.threads(forFlops: Double(n) * Double(n) * Double(n) / 3)
        let anorm = l.storage.withUnsafeBufferPointer { LAPACKE_dlange(rowMajor, char("1"), Int32(n), Int32(n), $0.baseAddress, Int32(n)) }
        let info = l.storage.withUnsafeMutableBufferPointer { LAPACKE_dpotrf(rowMajor, char("L"), Int32(n), $0.baseAddress, Int32(n)) }
        try checkLAPACK("dpotrf", info) { .notPositiveDefinite(order: n, minor: $0) }
        var rcond = 0.0
        let conInfo = l.storage.withUnsafeBufferPointer { LAPACKE_dpocon(rowMajor, char("L"), Int32(n), $0.baseAddress, Int32(n), anorm, &rcond) }
        try checkLAPACK("dpocon", conInfo) { .didNotConverge(routine: "dpocon", info: $0) }
        factor = l
        reciprocalCondition = rcond
    }

    /// A factor computed earlier (e.g. read back from a cache): `factor`'s lower triangle is L.
    public init(factor: Matrix<Double>, reciprocalCondition: Double) throws {
        guard factor.rows == factor.cols else { throw LinearAlgebraError.shapeMismatch("Cholesky factor must be square, got \(factor.rows)×\(factor.cols)") }
        guard factor.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("Cholesky factor") }
        self.factor = factor
        self.reciprocalCondition = reciprocalCondition
    }

    /// Solves `A·X = B` for X (`dpotrs`); B is `n × k`.
    public func solve(_ b: Matrix<Double>) throws -> Matrix<Double> {
        let n = factor.rows
        guard b.rows == n else { throw LinearAlgebraError.shapeMismatch("right-hand side has \(b.rows) rows, factor has order \(n)") }
        guard b.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("right-hand side") }
        var x = b
        guard b.cols > 0 else { return x }
        BLASRuntime.threads(forFlops: 2 * Double(n) * Double(n) * Double(b.cols))
        let info = factor.storage.withUnsafeBufferPointer { pa in
            x.storage.withUnsafeMutableBufferPointer { px in
                LAPACKE_dpotrs(rowMajor, char("L"), Int32(n), Int32(b.cols), pa.baseAddress, Int32(n), px.baseAddress, Int32(b.cols))
            }
        }
        try checkLAPACK("dpotrs", info) { .didNotConverge(routine: "dpotrs", info: $0) }
        return x
    }
}

// MARK: - LU

/// `P·A = L·U` with partial pivoting (`dgetrf`), plus `dgecon`'s reciprocal condition estimate.
public struct LUFactor: Sendable {
    public let factor: Matrix<Double>
    public let pivots: [Int32]
    public let reciprocalCondition: Double

    public init(_ a: Matrix<Double>) throws {
        guard a.rows == a.cols else { throw LinearAlgebraError.shapeMismatch("LU needs a square matrix, got \(a.rows)×\(a.cols)") }
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("matrix to factor") }
        let n = a.rows
        var lu = a
        var ipiv = [Int32](repeating: 0, count: max(n, 1))
        BLASRuntime.threads(forFlops: 2 * Double(n) * Double(n) * Double(n) / 3)
        let anorm = lu.storage.withUnsafeBufferPointer { LAPACKE_dlange(rowMajor, char("1"), Int32(n), Int32(n), $0.baseAddress, Int32(n)) }
        let info = lu.storage.withUnsafeMutableBufferPointer { pa in
            ipiv.withUnsafeMutableBufferPointer { LAPACKE_dgetrf(rowMajor, Int32(n), Int32(n), pa.baseAddress, Int32(n), $0.baseAddress) }
        }
        try checkLAPACK("dgetrf", info) { .singular(order: n, pivot: $0) }
        var rcond = 0.0
        let conInfo = lu.storage.withUnsafeBufferPointer { LAPACKE_dgecon(rowMajor, char("1"), Int32(n), $0.baseAddress, Int32(n), anorm, &rcond) }
        try checkLAPACK("dgecon", conInfo) { .didNotConverge(routine: "dgecon", info: $0) }
        factor = lu
        pivots = ipiv
        reciprocalCondition = rcond
    }

    /// Solves `A·X = B` (`dgetrs`).
    public func solve(_ b: Matrix<Double>) throws -> Matrix<Double> {
        let n = factor.rows
        guard b.rows == n else { throw LinearAlgebraError.shapeMismatch("right-hand side has \(b.rows) rows, factor has order \(n)") }
        guard b.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("right-hand side") }
        var x = b
        guard b.cols > 0 else { return x }
        BLASRuntime.threads(forFlops: 2 * Double(n) * Double(n) * Double(b.cols))
        let info = factor.storage.withUnsafeBufferPointer { pa in
            pivots.withUnsafeBufferPointer { pp in
                x.storage.withUnsafeMutableBufferPointer { px in
                    LAPACKE_dgetrs(rowMajor, char("N"), Int32(n), Int32(b.cols), pa.baseAddress, Int32(n), pp.baseAddress, px.baseAddress, Int32(b.cols))
                }
            }
        }
        try checkLAPACK("dgetrs", info) { .didNotConverge(routine: "dgetrs", info: $0) }
        return x
    }
}

// MARK: - Symmetric eigendecomposition

/// `A = Q·diag(λ)·Qᵀ` of a symmetric matrix (`dsyevd`); eigenvalues ascending, eigenvectors in
/// the columns of `vectors`.
public struct SymmetricEigen: Sendable {
    public let values: [Double]
    public let vectors: Matrix<Double>

    public init(_ a: Matrix<Double>) throws {
        guard a.rows == a.cols else { throw LinearAlgebraError.shapeMismatch("eigen needs a square matrix, got \(a.rows)×\(a.cols)") }
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("matrix to decompose") }
        let n = a.rows
        var q = a
        var w = [Double](repeating: 0, count: n)
        BLASRuntime.threads(forFlops: 9 * Double(n) * Double(n) * Double(n))
        let info = q.storage.withUnsafeMutableBufferPointer { pa in
            w.withUnsafeMutableBufferPointer { LAPACKE_dsyevd(rowMajor, char("V"), char("L"), Int32(n), pa.baseAddress, Int32(n), $0.baseAddress) }
        }
        try checkLAPACK("dsyevd", info) { .didNotConverge(routine: "dsyevd", info: $0) }
        values = w
        vectors = q
    }
}

// MARK: - Least squares

extension Matrix where Scalar == Double {
    /// Minimises ‖A·X − B‖_F for a full-rank `A` (`dgels`, QR/LQ); for rank-deficient problems
    /// use `SingularValueDecomposition`.
    public static func leastSquares(_ a: Matrix<Double>, _ b: Matrix<Double>) throws -> Matrix<Double> {
        guard a.rows == b.rows else { throw LinearAlgebraError.shapeMismatch("A has \(a.rows) rows, B has \(b.rows)") }
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("least-squares matrix") }
        guard b.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("right-hand side") }
        let m = a.rows, n = a.cols, nrhs = b.cols
        var aa = a
        // dgels overwrites B (max(m, n) rows) with the solution in its first n rows.
        var bb = Matrix<Double>(zeros: Swift.max(m, n), nrhs)
        for i in 0..<m { for j in 0..<nrhs { bb[i, j] = b[i, j] } }
        BLASRuntime.threads(forFlops: 2 * Double(m) * Double(n) * Double(n))
        let info = aa.storage.withUnsafeMutableBufferPointer { pa in
            bb.storage.withUnsafeMutableBufferPointer { pb in
                LAPACKE_dgels(rowMajor, char("N"), Int32(m), Int32(n), Int32(nrhs), pa.baseAddress, Int32(n), pb.baseAddress, Int32(nrhs))
            }
        }
        try checkLAPACK("dgels", info) { .singular(order: Swift.min(m, n), pivot: $0) }
        return bb.rows(0..<n)
    }
}
