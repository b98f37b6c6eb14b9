import Tensors
extension Matrix where Scalar == Float {
    /// A 2-D floating-point tensor as a Float32 matrix (fp16/bf16 widened exactly, F64 rounded).
    /// A 1-D tensor becomes one row. `nil` for other ranks or non-float dtypes.
    init?(tensor: RawTensor) {
        guard tensor.dtype.isFloatingPoint, let values = try? tensor.floats() else { return nil }
        switch tensor.shape.count {
        case 2: self.init(rows: tensor.shape[0], cols: tensor.shape[1], storage: values)
        case 1: self.init(rows: 1, cols: tensor.shape[0], storage: values)
        default: return nil
        }
    }

    /// The matrix as a row-major tensor of `dtype` (F32, F16 or BF16).
    public func rawTensor(as dtype: DType = .float32) throws -> RawTensor {
        try RawTensor.from(floats: storage, shape: [rows, cols], as: dtype)
    }
}
