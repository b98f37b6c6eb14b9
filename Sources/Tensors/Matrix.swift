/// A dense row-major matrix of Float32 (compute on large products) or Float64 (Gram matrices,
/// factorisations and solves).
///
/// `rows × cols` values in `storage`, element (i, j) at `storage[i * cols + j]`, the layout
/// CBLAS/LAPACKE are called with (`CblasRowMajor`, `LAPACK_ROW_MAJOR`).
public struct Matrix<Scalar: BLASScalar>: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var storage: [Scalar]

    @inlinable
    public init(rows: Int, cols: Int, storage: [Scalar]) {
        precondition(rows >= 0 && cols >= 0 && storage.count == rows * cols, "matrix storage must hold rows × cols values")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// A matrix filled with zeros.
    @inlinable
    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, storage: Array(repeating: .zero, count: rows * cols))
    }

    /// The `n × n` identity.
    @inlinable
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(zeros: n, n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    @inlinable
    public subscript(row: Int, col: Int) -> Scalar {
        get { storage[row * cols + col] }
        set { storage[row * cols + col] = newValue }
    }

    /// `Aᵀ`.
    @inlinable
    public var transposed: Matrix {
        var t = Matrix(zeros: cols, rows)
        for i in 0..<rows { for j in 0..<cols { t.storage[j * rows + i] = storage[i * cols + j] } }
        return t
    }

    /// Row `i` as an array.
    @inlinable
    public func row(_ i: Int) -> [Scalar] { Array(storage[(i * cols)..<((i + 1) * cols)]) }

    /// Rows `range` as a new matrix.
    @inlinable
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, storage: Array(storage[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    /// Columns `range` as a new matrix.
    @inlinable
    public func columns(_ range: Range<Int>) -> Matrix {
        var out = Matrix(zeros: rows, range.count)
        for i in 0..<rows { for (k, j) in range.enumerated() { out.storage[i * range.count + k] = storage[i * cols + j] } }
        return out
    }

    /// Stacks matrices with equal column counts vertically.
    @inlinable
    public static func vstack(_ parts: [Matrix]) -> Matrix {
        guard let first = parts.first else { return Matrix(zeros: 0, 0) }
        precondition(parts.allSatisfy { $0.cols == first.cols }, "vstack needs equal column counts")
        return Matrix(rows: parts.reduce(0) { $0 + $1.rows }, cols: first.cols, storage: parts.flatMap(\.storage))
    }

    /// Frobenius norm ‖A‖_F, accumulated in Float64.
    @inlinable
    public var frobeniusNorm: Double {
        storage.withUnsafeBufferPointer { values in
            var sum = 0.0
            for v in values { sum += Double(v) * Double(v) }
            return sum.squareRoot()
        }
    }

    /// Largest absolute entry.
    @inlinable
    public var maxAbs: Double {
        storage.withUnsafeBufferPointer { values in
            var largest: Scalar = 0
            for v in values { largest = Swift.max(largest, Swift.abs(v)) }
            return Double(largest)
        }
    }

    /// Element-wise `A − B`.
    @inlinable
    public static func - (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.cols == rhs.cols, "shape mismatch in subtraction")
        return elementwise(lhs, rhs) { $0 - $1 }
    }

    /// Element-wise `A + B`.
    @inlinable
    public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.cols == rhs.cols, "shape mismatch in addition")
        return elementwise(lhs, rhs) { $0 + $1 }
    }

    /// `f` applied entry by entry over two equal-shaped matrices (a plain loop over the buffers).
    @inlinable
    static func elementwise(_ lhs: Matrix, _ rhs: Matrix, _ f: (Scalar, Scalar) -> Scalar) -> Matrix {
        let storage = [Scalar](unsafeUninitializedCapacity: lhs.storage.count) { out, initialized in
            lhs.storage.withUnsafeBufferPointer { a in
                rhs.storage.withUnsafeBufferPointer { b in
                    for i in 0..<a.count { out[i] = f(a[i], b[i]) }
                }
            }
            initialized = lhs.storage.count
        }
        return Matrix(rows: lhs.rows, cols: lhs.cols, storage: storage)
    }
}

extension Matrix where Scalar == Float {
    /// Widens to Float64.
    @inlinable
    public var asDouble: Matrix<Double> {
        Matrix<Double>(rows: rows, cols: cols, storage: storage.withUnsafeBufferPointer { values in
            [Double](unsafeUninitializedCapacity: values.count) { out, n in
                for i in 0..<values.count { out[i] = Double(values[i]) }
                n = values.count
            }
        })
    }
}

extension Matrix where Scalar == Double {
    /// Narrows to Float32 (round to nearest).
    @inlinable
    public var asFloat: Matrix<Float> {
        Matrix<Float>(rows: rows, cols: cols, storage: storage.withUnsafeBufferPointer { values in
            [Float](unsafeUninitializedCapacity: values.count) { out, n in
                for i in 0..<values.count { out[i] = Float(values[i]) }
                n = values.count
            }
        })
    }
}
