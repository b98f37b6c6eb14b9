import Foundation
import TestSupport
import Testing
@testable import Tensors

/// Golden values written by `fixtures/generate_tensors.py` (numpy / torch), read from the source tree.
enum Fixtures {
    /// `<package root>/fixtures/tensors`.
    static let directory: URL = fixtureURL("tensors")

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }

    // MARK: narrowing.bin

    /// One torch narrowing: fp32 input bits → fp16 bits, bf16 bits (`Tensor.to(torch.float16 / bfloat16)`).
    struct Narrowing: Sendable {
        let input: UInt32
        let float16: UInt16
        let bfloat16: UInt16
        var value: Float { Float(bitPattern: input) }
    }

    /// Layout (little-endian): u32 N; N × u32 inputs; N × u16 fp16; N × u16 bf16.
    static func narrowings() throws -> [Narrowing] {
        let bytes = try data("narrowing.bin")
        return try bytes.withUnsafeBytes { raw -> [Narrowing] in
            let n = Int(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
            try #require(raw.count == 4 + n * 8, "narrowing.bin has \(raw.count) bytes for \(n) values")
            return (0..<n).map { i in
                Narrowing(
                    input: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 + 4 * i, as: UInt32.self)),
                    float16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 4 + 4 * n + 2 * i, as: UInt16.self)),
                    bfloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 4 + 6 * n + 2 * i, as: UInt16.self)))
            }
        }
    }

    // MARK: linalg.json

    struct JSONMatrix: Decodable, Sendable {
        let rows: Int
        let cols: Int
        let values: [Double]
        var double: Matrix<Double> { Matrix(rows: rows, cols: cols, storage: values) }
        /// Entries are float32-exact where the generator made them so (products).
        var float: Matrix<Float> { Matrix(rows: rows, cols: cols, storage: values.map(Float.init)) }
    }

    struct Product: Decodable, Sendable { let a, b, c: JSONMatrix }
    struct Solve: Decodable, Sendable { let a, b, x: JSONMatrix; let cond1: Double }
    struct CholeskyCase: Decodable, Sendable { let a, b, x, l: JSONMatrix; let cond1: Double }
    struct Conditioned: Decodable, Sendable { let a: JSONMatrix; let cond1: Double }
    struct Eigen: Decodable, Sendable { let a: JSONMatrix; let values: [Double] }
    struct SVD: Decodable, Sendable { let a: JSONMatrix; let singularValues: [Double] }
    struct LeastSquares: Decodable, Sendable { let a, b, x: JSONMatrix }

    struct LinearAlgebra: Decodable, Sendable {
        let products: [Product]
        let cholesky: CholeskyCase
        let hilbert: Conditioned
        let lu: Solve
        let nearSingular: Conditioned
        let eigen: Eigen
        let svd: [SVD]
        let leastSquares: [LeastSquares]
    }

    static func linearAlgebra() throws -> LinearAlgebra {
        try JSONDecoder().decode(LinearAlgebra.self, from: data("linalg.json"))
    }
}

// MARK: - Comparison helpers

/// Largest absolute element-wise difference (shapes must match).
func maxAbsDifference<S>(_ a: Matrix<S>, _ b: Matrix<S>) -> Double {
    guard a.rows == b.rows, a.cols == b.cols else { return .infinity }
    return zip(a.storage, b.storage).reduce(0.0) { max($0, abs(Double($1.0) - Double($1.1))) }
}

/// ‖QᵀQ − I‖_max for a matrix whose columns should be orthonormal.
func orthonormalityError<S>(columnsOf q: Matrix<S>) -> Double {
    maxAbsDifference(Matrix.matmul(q, q, transposeA: true), Matrix<S>.identity(q.cols))
}

