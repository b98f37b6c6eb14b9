import CustomDiffusion
import Foundation

/// How the catalog keeps Σ (`regset_gram.gram`, and the digest that keys compositions).
extension RegularizationFeatures {
    /// Σ as stored: d × d Float64 little-endian, row-major.
    static func encode(_ sigma: Matrix<Double>) -> Data {
        sigma.storage.withUnsafeBytes { Data($0) }  // little-endian on every platform Swift runs this on
    }

    static func decode(_ data: Data, dimension: Int) -> Matrix<Double>? {
        guard dimension > 0, data.count == dimension * dimension * 8 else { return nil }
        let values = data.withUnsafeBytes { raw in
            (0..<(dimension * dimension)).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
        }
        return Matrix(rows: dimension, cols: dimension, storage: values)
    }
}
