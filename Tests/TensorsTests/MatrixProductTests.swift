import Testing
@testable import Tensors

/// `Matrix.matmul` (`cblas_sgemm` / `cblas_dgemm`) against numpy's float64 products
/// (`fixtures/tensors/linalg.json`), in every transpose combination and with empty dimensions.
///
/// Tolerance: the standard gemm bound |Ĉ − C| ≤ γₖ·(|A|·|B|), γₖ ≈ (k+1)·u, with u = 2⁻²⁴ for Float
/// and 2⁻⁵³ for Double, applied element-wise.
@Suite("Matrix products")
struct MatrixProductTests {
    static let combinations: [(Bool, Bool)] = [(false, false), (true, false), (false, true), (true, true)]

    /// Element-wise bound (k+1)·u·(|A|·|B|) in Float64.
    static func bound(_ a: Matrix<Double>, _ b: Matrix<Double>, unitRoundoff: Double) -> Matrix<Double> {
        let absA = Matrix(rows: a.rows, cols: a.cols, storage: a.storage.map(abs))
        let absB = Matrix(rows: b.rows, cols: b.cols, storage: b.storage.map(abs))
        let scale = Double(a.cols + 1) * unitRoundoff
        let p = Matrix.matmul(absA, absB)
        return Matrix(rows: p.rows, cols: p.cols, storage: p.storage.map { $0 * scale + 1e-300 })
    }

    static func check<S>(_ got: Matrix<S>, _ expected: Matrix<Double>, within bound: Matrix<Double>) -> [String] {
        guard got.rows == expected.rows, got.cols == expected.cols else {
            return ["shape \(got.rows)×\(got.cols), expected \(expected.rows)×\(expected.cols)"]
        }
        return expected.storage.indices.compactMap { i in
            abs(Double(got.storage[i]) - expected.storage[i]) <= bound.storage[i] ? nil : "element \(i): \(got.storage[i]) vs \(expected.storage[i])"
        }
    }

    @Test("sgemm matches numpy in all four transpose combinations")
    func sgemm() throws {
        let products = try Fixtures.linearAlgebra().products
        for p in products {
            let bound = Self.bound(p.a.double, p.b.double, unitRoundoff: 0x1p-24)
            let a = p.a.float, b = p.b.float
            for (ta, tb) in Self.combinations {
                let c = Matrix.matmul(ta ? a.transposed : a, tb ? b.transposed : b, transposeA: ta, transposeB: tb)
                let failures = Self.check(c, p.c.double, within: bound)
                #expect(failures.isEmpty, "\(p.a.rows)×\(p.a.cols)·\(p.b.rows)×\(p.b.cols) transposeA \(ta) transposeB \(tb): \(failures.prefix(4))")
            }
        }
    }

    @Test("dgemm matches numpy in all four transpose combinations")
    func dgemm() throws {
        let products = try Fixtures.linearAlgebra().products
        for p in products {
            let bound = Self.bound(p.a.double, p.b.double, unitRoundoff: 0x1p-53)
            let a = p.a.double, b = p.b.double
            for (ta, tb) in Self.combinations {
                let c = Matrix.matmul(ta ? a.transposed : a, tb ? b.transposed : b, transposeA: ta, transposeB: tb)
                let failures = Self.check(c, p.c.double, within: bound)
                #expect(failures.isEmpty, "\(p.a.rows)×\(p.a.cols)·\(p.b.rows)×\(p.b.cols) transposeA \(ta) transposeB \(tb): \(failures.prefix(4))")
            }
        }
    }

    @Test("empty dimensions give the right shape, and k = 0 gives zeros", arguments: [(0, 3, 4), (3, 0, 4), (4, 3, 0), (0, 0, 0)])
    func emptyDimensions(m: Int, k: Int, n: Int) {
        let a = Matrix<Float>(rows: m, cols: k, storage: (0..<(m * k)).map(Float.init))
        let b = Matrix<Float>(rows: k, cols: n, storage: (0..<(k * n)).map(Float.init))
        for (ta, tb) in Self.combinations {
            let c = Matrix.matmul(ta ? a.transposed : a, tb ? b.transposed : b, transposeA: ta, transposeB: tb)
            #expect(c.rows == m && c.cols == n)
            #expect(c.storage.allSatisfy { $0 == 0 })
        }
    }

    @Test("operator *, gram and transposed agree with matmul on a known product")
    func operatorsAndGram() {
        let a = Matrix<Double>(rows: 2, cols: 3, storage: [1, 2, 3, 4, 5, 6])
        let b = Matrix<Double>(rows: 3, cols: 2, storage: [7, 8, 9, 10, 11, 12])
        #expect((a * b).storage == [58, 64, 139, 154])
        #expect(a.transposed.storage == [1, 4, 2, 5, 3, 6])
        #expect(a.transposed.transposed == a)
        #expect(a.gram == Matrix(rows: 3, cols: 3, storage: [17, 22, 27, 22, 29, 36, 27, 36, 45]))
        let f = Matrix<Float>(rows: 2, cols: 3, storage: [1, 2, 3, 4, 5, 6])
        #expect(Matrix.matmul(f, f, transposeB: true).storage == [14, 32, 32, 77])
        #expect(Matrix<Float>.identity(3) * f.transposed == f.transposed)
    }

    @Test("Matrix helpers: rows, columns, vstack, norms, element-wise arithmetic, precision casts")
    func helpers() {
        let m = Matrix<Double>(rows: 3, cols: 2, storage: [1, -2, 3, 4, -5, 6])
        #expect(m.row(1) == [3, 4])
        #expect(m.rows(1..<3).storage == [3, 4, -5, 6])
        #expect(m.columns(1..<2).storage == [-2, 4, 6])
        #expect(Matrix.vstack([m.rows(0..<1), m.rows(1..<3)]) == m)
        #expect(m.maxAbs == 6)
        #expect(abs(m.frobeniusNorm - 91.0.squareRoot()) < 1e-15)
        #expect((m + m - m) == m)
        #expect(m.asFloat.asDouble == m)
        #expect(Matrix<Double>(zeros: 2, 3).storage == [0, 0, 0, 0, 0, 0])
    }
}
