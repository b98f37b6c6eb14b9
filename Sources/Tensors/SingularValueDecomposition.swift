import CLAPACKE

/// Thin SVD `A = U·diag(S)·Vᵀ` by divide and conquer (`?gesdd`, `jobz = 'S'`), singular values
/// descending. `U` is `m × k`, `Vᵀ` is `k × n`, `k = min(m, n)`.
public struct SingularValueDecomposition<Scalar: LAPACKScalar>: Sendable {
    public let u: Matrix<Scalar>
    public let singularValues: [Scalar]
    public let vt: Matrix<Scalar>

    public init(_ a: Matrix<Scalar>) throws {
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite("matrix to decompose") }
        let m = a.rows, n = a.cols, k = Swift.min(m, n)
        var work = a
        var s = [Scalar](repeating: 0, count: k)
        var u = Matrix<Scalar>(zeros: m, k)
        var vt = Matrix<Scalar>(zeros: k, n)
        if k > 0 {
            BLASRuntime.threads(forFlops: 4 * Double(m) * Double(n) * Double(k) + 8 * Double(k) * Double(k) * Double(k))
            let info = work.storage.withUnsafeMutableBufferPointer { pa in
                s.withUnsafeMutableBufferPointer { ps in
                    u.storage.withUnsafeMutableBufferPointer { pu in
                        vt.storage.withUnsafeMutableBufferPointer { pv in
                            Scalar.gesdd(m: m, n: n, a: pa.baseAddress!, s: ps.baseAddress!, u: pu.baseAddress!, ldu: k, vt: pv.baseAddress!, ldvt: n)
                        }
                    }
                }
            }
            try checkLAPACK(Scalar.gesddName, info) { .didNotConverge(routine: Scalar.gesddName, info: $0) }
        }
        self.u = u
        singularValues = s
        self.vt = vt
    }
}

/// Scalars with a LAPACK divide-and-conquer SVD: `Float` → `sgesdd`, `Double` → `dgesdd`.
public protocol LAPACKScalar: BLASScalar {
    static var gesddName: String { get }
    static func gesdd(m: Int, n: Int, a: UnsafeMutablePointer<Self>, s: UnsafeMutablePointer<Self>,
                      u: UnsafeMutablePointer<Self>, ldu: Int, vt: UnsafeMutablePointer<Self>, ldvt: Int) -> Int32
}

extension Float: LAPACKScalar {
    public static var gesddName: String { "sgesdd" }
    public static func gesdd(m: Int, n: Int, a: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                             u: UnsafeMutablePointer<Float>, ldu: Int, vt: UnsafeMutablePointer<Float>, ldvt: Int) -> Int32 {
        LAPACKE_sgesdd(Int32(LAPACK_ROW_MAJOR), CChar(bitPattern: UInt8(ascii: "S")), Int32(m), Int32(n), a, Int32(n), s, u, Int32(ldu), vt, Int32(ldvt))
    }
}

extension Double: LAPACKScalar {
    public static var gesddName: String { "dgesdd" }
    public static func gesdd(m: Int, n: Int, a: UnsafeMutablePointer<Double>, s: UnsafeMutablePointer<Double>,
                             u: UnsafeMutablePointer<Double>, ldu: Int, vt: UnsafeMutablePointer<Double>, ldvt: Int) -> Int32 {
        LAPACKE_dgesdd(Int32(LAPACK_ROW_MAJOR), CChar(bitPattern: UInt8(ascii: "S")), Int32(m), Int32(n), a, Int32(n), s, u, Int32(ldu), vt, Int32(ldvt))
    }
}
