import CLAPACKE

/// Thin LQ factorisation `A = L·Q` of a wide matrix (`m ≤ n`): `L` is `m × m` lower triangular,
/// `Q` is `m × n` with orthonormal rows (`Q Qᵀ = I`).
///
/// Computed as the QR factorisation of `Aᵀ` (`dgeqrf` + `dorgqr`) on the row-major buffer read
/// column-major, so no transposition or copy is needed: the buffer of row-major `A` (m × n) is the
/// column-major `Aᵀ` (n × m) = Q̂ R̂, hence `L = R̂ᵀ` and `Q = Q̂ᵀ`, whose row-major buffer is
/// column-major `Q̂`. Costs `2m²n` flops, against `~4m²n + 8m³` for the thin SVD.
public struct LQDecomposition: Sendable {
    public let l: Matrix<Double>
    public let q: Matrix<Double>

    public init(_ a: Matrix<Double>) throws {
        let m = a.rows, n = a.cols
        guard m <= n else { throw LinearAlgebraError.shapeMismatch("LQ needs a wide matrix (rows ≤ columns), got \(m)×\(n)") }
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("matrix to factor") }
        var buffer = a.storage
        var l = Matrix<Double>(zeros: m, m)
        guard m > 0 else {
            self.l = l
            q = a
            return
        }
        var tau = [Double](repeating: 0, count: m)
        let column = Int32(LAPACK_COL_MAJOR)
        BLASRuntime.threads(forFlops: 4 * Double(m) * Double(m) * Double(n))
        let factored = buffer.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeMutableBufferPointer { pt in
                LAPACKE_dgeqrf(column, Int32(n), Int32(m), pa.baseAddress, Int32(n), pt.baseAddress)
            }
        }
        try checkLAPACK("dgeqrf", factored) { .didNotConverge(routine: "dgeqrf", info: $0) }
        // R̂(j, i), j ≤ i, sits at column-major offset j + i·n: row i, column j of the row-major view.
        for i in 0..<m {
            for j in 0...i { l.storage[i * m + j] = buffer[i * n + j] }
        }
        let formed = buffer.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeBufferPointer { pt in
                LAPACKE_dorgqr(column, Int32(n), Int32(m), Int32(m), pa.baseAddress, Int32(n), pt.baseAddress)
            }
        }
        try checkLAPACK("dorgqr", formed) { .didNotConverge(routine: "dorgqr", info: $0) }
        self.l = l
        q = Matrix(rows: m, cols: n, storage: buffer)
    }
}
