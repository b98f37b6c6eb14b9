import CLAPACKE

extension SymmetricEigen {
    /// The eigenvalues of a symmetric matrix, ascending, without eigenvectors (`dsyevd`, `jobz = 'N'`:
    /// tridiagonal reduction + root-free QR, about a third of the work of the full decomposition).
    ///
    /// Used where only a spectrum is needed, e.g. the singular values of `A` as `√λ(AᵀA)` to choose a
    /// truncation rank before computing the few singular vectors that are kept.
    public static func eigenvalues(of a: Matrix<Double>) throws -> [Double] {
        guard a.rows == a.cols else { throw LinearAlgebraError.shapeMismatch("eigen needs a square matrix, got \(a.rows)×\(a.cols)") }
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("matrix to decompose") }
        let n = a.rows
        guard n > 0 else { return [] }
        var q = a
        var w = [Double](repeating: 0, count: n)
        BLASRuntime.threads(forFlops: 4 * Double(n) * Double(n) * Double(n) / 3)
        let info = q.storage.withUnsafeMutableBufferPointer { pa in
            w.withUnsafeMutableBufferPointer {
                LAPACKE_dsyevd(Int32(LAPACK_ROW_MAJOR), CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "L")), Int32(n), pa.baseAddress, Int32(n), $0.baseAddress)
            }
        }
        try checkLAPACK("dsyevd", info) { .didNotConverge(routine: "dsyevd", info: $0) }
        return w
    }
}
