import Foundation

/// The leading singular triplets of a Float32 matrix `A` (`h × d`): `A ≈ U·diag(σ)·Vᵀ`, `U` `h × l`,
/// `Vᵀ` `l × d`, σ descending — computed exactly (LAPACK `dgesdd` in Float64) for small matrices, or
/// by a randomized range finder for SD-sized ones (Halko, Martinsson & Tropp 2011, Alg. 4.4: `Y = A·Ω`,
/// `q` power iterations re-orthonormalised each time, `B = Qᵀ·A`, SVD of the small `B`).
///
/// The big products are Float32 `sgemm`; Gram matrices, orthonormalisation and the small SVD are Float64.
/// `residualEnergy(rank:)` is exact for the computed basis: `‖A − U_r U_rᵀ A‖²_F = ‖A‖²_F − Σ_{i<r} σᵢ²`.
struct TruncatedSVD {
    let u: Matrix<Float>
    let singularValues: [Double]
    let vt: Matrix<Float>
    /// `‖A‖²_F`, Float64.
    let squaredNorm: Double

    /// Matrices whose smaller side is at most this are decomposed exactly.
    static let exactLimit = 128

    /// Exact thin SVD (`dgesdd`, Float64).
    init(exact a: Matrix<Float>, squaredNorm: Double) throws {
        let svd = try SingularValueDecomposition<Double>(a.asDouble)
        u = svd.u.asFloat
        singularValues = svd.singularValues
        vt = svd.vt.asFloat
        self.squaredNorm = squaredNorm
    }

    /// Randomized SVD with `width` = l columns (target rank plus oversampling) and `powerIterations` = q.
    init(randomized a: Matrix<Float>, width: Int, powerIterations: Int, squaredNorm: Double, seed: UInt64 = 0x5EED) throws {
        let l = Swift.min(width, Swift.min(a.rows, a.cols))
        var rng = SplitMix64(seed: seed ^ UInt64(a.rows << 32 | a.cols))
        let omega = Matrix<Float>(rows: a.cols, cols: l, storage: (0..<(a.cols * l)).map { _ in Float(rng.nextGaussian()) })
        var q = try Self.orthonormalize(Matrix.matmul(a, omega))
        for _ in 0..<powerIterations {
            let z = try Self.orthonormalize(Matrix.matmul(a, q, transposeA: true))
            q = try Self.orthonormalize(Matrix.matmul(a, z))
        }
        let b = Matrix.matmul(q, a, transposeA: true)  // k × d
        let small = try SingularValueDecomposition<Double>(b.asDouble)
        u = Matrix.matmul(q, small.u.asFloat)
        singularValues = small.singularValues
        vt = small.vt.asFloat
        self.squaredNorm = squaredNorm
    }

    /// `‖A − A_r‖²_F` for the rank-`r` truncation of this decomposition (clamped at 0).
    func residualEnergy(rank r: Int) -> Double {
        Swift.max(0, squaredNorm - singularValues.prefix(r).reduce(0) { $0 + $1 * $1 })
    }

    /// `U_r·diag(√σ)` and `diag(√σ)·V_rᵀ`: the balanced split keeps both factors' entries of similar size.
    func factors(rank r: Int) -> (up: Matrix<Float>, down: Matrix<Float>) {
        var up = Matrix<Float>(zeros: u.rows, r)
        var down = Matrix<Float>(zeros: r, vt.cols)
        for j in 0..<r {
            let s = Float(singularValues[j].squareRoot())
            for i in 0..<u.rows { up.storage[i * r + j] = u.storage[i * u.cols + j] * s }
            for k in 0..<vt.cols { down.storage[j * vt.cols + k] = vt.storage[j * vt.cols + k] * s }
        }
        return (up, down)
    }

    /// An orthonormal basis of the column space of `y` (`n × l`) by "eigen-QR" twice: `G = YᵀY = VΛVᵀ`
    /// (Float64), `Q = Y·V·Λ^{-1/2}` over the eigenvalues above `1e-13·λ_max` (numerically dependent
    /// directions are dropped, so the basis may be narrower than `l`). The second pass restores the
    /// orthogonality the first loses to the squared condition number (as CholeskyQR2 does).
    static func orthonormalize(_ y: Matrix<Float>) throws -> Matrix<Float> {
        var q = y.asDouble
        for _ in 0..<2 {
            let eigen = try SymmetricEigen(Matrix.matmul(q, q, transposeA: true))
            let top = eigen.values.last ?? 0
            guard top > 0 else { return Matrix(zeros: y.rows, 0) }
            let keep = eigen.values.indices.filter { eigen.values[$0] > top * 1e-13 }.reversed()
            var transform = Matrix<Double>(zeros: q.cols, keep.count)
            for (c, j) in keep.enumerated() {
                let scale = 1 / eigen.values[j].squareRoot()
                for i in 0..<q.cols { transform[i, c] = eigen.vectors[i, j] * scale }
            }
            q = Matrix.matmul(q, transform)
        }
        return q.asFloat
    }

    /// Singular values of `a`, descending, as `√λ` of the smaller-side Gram matrix (Float64, eigenvalues only).
    static func singularValues(of a: Matrix<Float>) throws -> [Double] {
        let d = a.asDouble
        let gram = a.rows <= a.cols ? Matrix.matmul(d, d, transposeB: true) : Matrix.matmul(d, d, transposeA: true)
        return try SymmetricEigen.eigenvalues(of: gram).reversed().map { Swift.max(0, $0).squareRoot() }
    }
}
