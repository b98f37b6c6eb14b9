import Foundation

extension Store {
    /// A blob of little-endian fixed-width values (F32 factors, features and embeddings; F64
    /// eigenpairs), checked against the count the catalog records for it. The one decoder of
    /// such blobs (merge keys, compositions, compose bases and token embeddings all use it).
    /// `count` nil: as many values as the blob holds (its size must be a multiple of the width).
    func values<T: BitwiseCopyable & Numeric>(_ type: T.Type, blob sha256: String, count expected: Int?) throws -> [T] {
        let data = try blobs.get(sha256)
        let width = MemoryLayout<T>.size
        let count = expected ?? data.count / width
        guard data.count == count * width else {
            throw RegistryError.blobSizeMismatch(sha256: sha256, bytes: data.count, expected: count * width)
        }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            _ = data.copyBytes(to: buffer)
            initialized = count
        }
    }

    /// A blob of `rows × cols` F32 values, row-major.
    func matrix(blob sha256: String, rows: Int, cols: Int) throws -> Matrix<Float> {
        Matrix(rows: rows, cols: cols, storage: try values(Float.self, blob: sha256, count: rows * cols))
    }
}
