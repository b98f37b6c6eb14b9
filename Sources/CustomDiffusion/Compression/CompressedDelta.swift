/// A layer's stored `ΔW` (`h × d`): dense, or factors `up` (`h × r`) · `down` (`r × d`), as tensors
/// ready for a blob store, with the rank and the relative error measured on what is stored.
public struct CompressedDelta: Sendable {
    public enum Storage: Sendable {
        /// `ΔW` itself, F32 (lossless) or F16.
        case dense(RawTensor)
        /// `ΔW ≈ up · down`, F16 (or F32 for factors given losslessly). Split `U·√S`, `√S·Vᵀ` when
        /// computed here, so both factors stay well inside fp16's normal range.
        case factors(up: RawTensor, down: RawTensor)
    }

    /// Entries of `W′` that `W0 + ΔW` in Float32 does not reproduce, kept by `lossless` so that an
    /// export gives `W′` bit for bit: `W′ − W0` rounds when `W′` and `W0` are not within a factor of
    /// two of each other (Sterbenz), and adding the rounded difference back may miss `W′` by an ulp.
    public struct ExactPatches: Sendable {
        /// Row-major flat indices into `h × d` (I64).
        public let indices: RawTensor
        /// The `W′` values at those indices (F32).
        public let values: RawTensor
        public init(indices: RawTensor, values: RawTensor) {
            self.indices = indices
            self.values = values
        }
        public var count: Int { indices.elementCount }
    }

    public let storage: Storage
    public let rows: Int
    public let cols: Int
    /// `r` for factors, `min(h, d)` for dense storage.
    public let rank: Int
    /// `‖ΔW − stored‖_F / ‖ΔW‖_F`, measured on the stored (rounded) values; 0 when `ΔW = 0`.
    public let relativeError: Double
    public let patches: ExactPatches?

    public init(storage: Storage, rows: Int, cols: Int, rank: Int, relativeError: Double, patches: ExactPatches? = nil) throws {
        switch storage {
        case .dense(let t):
            guard t.shape == [rows, cols] else { throw ConceptError.shapeMismatch("dense delta \(t.shape), expected [\(rows), \(cols)]") }
        case .factors(let up, let down):
            guard up.shape == [rows, rank], down.shape == [rank, cols] else {
                throw ConceptError.shapeMismatch("factors \(up.shape) · \(down.shape), expected [\(rows), \(rank)] · [\(rank), \(cols)]")
            }
        }
        self.storage = storage
        self.rows = rows
        self.cols = cols
        self.rank = rank
        self.relativeError = relativeError
        self.patches = patches
    }

    /// Bytes of the stored tensors (before any blob compression).
    public var storedBytes: Int {
        let patchBytes = (patches?.indices.byteCount ?? 0) + (patches?.values.byteCount ?? 0)
        switch storage {
        case .dense(let t): return t.byteCount + patchBytes
        case .factors(let up, let down): return up.byteCount + down.byteCount + patchBytes
        }
    }

    /// `ΔW` as stored, in Float32.
    public func reconstruct() throws -> Matrix<Float> {
        switch storage {
        case .dense(let t):
            return Matrix(rows: rows, cols: cols, storage: try t.floats())
        case .factors(let up, let down):
            let u = Matrix(rows: rows, cols: rank, storage: try up.floats())
            let v = Matrix(rows: rank, cols: cols, storage: try down.floats())
            return Matrix.matmul(u, v)
        }
    }

    /// `W′ = W0 + ΔW` in Float32, with the lossless patches applied (so lossless in → bit-exact out).
    public func applied(to base: Matrix<Float>) throws -> Matrix<Float> {
        guard base.rows == rows, base.cols == cols else {
            throw ConceptError.shapeMismatch("base \(base.rows)×\(base.cols), delta \(rows)×\(cols)")
        }
        var w = base + (try reconstruct())
        if let patches {
            let indices = try patches.indices.int64s()
            let values = try patches.values.floats()
            for (i, v) in zip(indices, values) {
                guard i >= 0, Int(i) < w.storage.count else { throw ConceptError.shapeMismatch("patch index \(i) outside \(rows)×\(cols)") }
                w.storage[Int(i)] = v
            }
        }
        return w
    }
}

extension RawTensor {
    /// I64 values (patch indices).
    func int64s() throws -> [Int64] {
        guard dtype == .int64 else { throw ConceptError.shapeMismatch("expected I64 indices, got \(dtype.rawValue)") }
        let n = elementCount
        return bytes.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
    }

    /// An I64 tensor.
    static func from(int64s values: [Int64], shape: [Int]) throws -> RawTensor {
        let buffer = ByteBuffer(unsafeUninitializedCount: values.count * 8) { out in
            for (i, v) in values.enumerated() { out.storeBytes(of: v, toByteOffset: i * 8, as: Int64.self) }
        }
        return try RawTensor(dtype: .int64, shape: shape, bytes: buffer)
    }
}
