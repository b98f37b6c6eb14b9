/// Matrix products through BLAS `?gemm` (OpenBLAS).
extension Matrix {
    /// `op(A)·op(B)` where `op` transposes when asked: `matmul(a, b, transposeB: true)` = `A·Bᵀ`.
    @inlinable
    public static func matmul(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "matmul inner dimensions differ: \(k) vs \(kb)")
        var c = Matrix(zeros: m, n)
        guard m > 0, n > 0 else { return c }
        if k == 0 { return c }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: 1, a: pa.baseAddress!, lda: a.cols, b: pb.baseAddress!, ldb: b.cols,
                                beta: 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    /// `A·B`.
    @inlinable
    public static func * (lhs: Matrix, rhs: Matrix) -> Matrix { matmul(lhs, rhs) }

    /// The Gram matrix `AᵀA` (`cols × cols`).
    @inlinable
    public var gram: Matrix { Matrix.matmul(self, self, transposeA: true) }
}
