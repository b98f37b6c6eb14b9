import Tensors
/// One torch storage (`<archive>/data/<key>`): a flat run of `elementCount` elements of `dtype`.
struct TorchStorage: Sendable {
    var key: String
    var dtype: DType
    var elementCount: Int
    var bytes: ByteBuffer

    /// The storage classes `torch.save` names in persistent ids (`torch.FloatStorage`, …), by dtype.
    static let classNames: [String: DType] = [
        "DoubleStorage": .float64, "FloatStorage": .float32, "HalfStorage": .float16,
        "BFloat16Storage": .bfloat16, "LongStorage": .int64, "IntStorage": .int32,
        "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    /// The tensor `_rebuild_tensor_v2(storage, offset, shape, strides, …)` describes, made
    /// contiguous (row-major). Contiguous views are zero-copy slices of the storage; others
    /// (transposes, steps, broadcasts) are gathered into new memory.
    ///
    /// Element `(i₀, …, iₙ)` of the view is storage element `offset + Σ iₖ·strideₖ` (torch's
    /// strided layout); every reachable element is checked to lie inside the storage first.
    func view(offset: Int, shape: [Int], strides: [Int], path: String) throws -> RawTensor {
        let outOfBounds = TorchCheckpointError.viewOutOfBounds(
            key: key, offset: offset, shape: shape, strides: strides, storageElements: elementCount, path: path)
        guard shape.count == strides.count, offset >= 0,
              shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else { throw outOfBounds }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw outOfBounds }
            count = product
        }
        let size = dtype.byteSize
        if count == 0 { return try RawTensor(dtype: dtype, shape: shape, bytes: ByteBuffer(copying: [UInt8]())) }
        var last = offset
        for (extent, stride) in zip(shape, strides) {
            let (step, overflow1) = (extent - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflow2) = last.addingReportingOverflow(step)
            guard !overflow1, !overflow2 else { throw outOfBounds }
            last = sum
        }
        guard last < elementCount else { throw outOfBounds }

        if Self.isContiguous(shape: shape, strides: strides) {
            return try RawTensor(dtype: dtype, shape: shape, bytes: bytes.slice((offset * size)..<((offset + count) * size)))
        }
        // Gather: walk every index of the outer dimensions; copy the innermost run at once when its stride is 1.
        let rank = shape.count
        let inner = shape[rank - 1], innerStride = strides[rank - 1]
        let outer = count / inner
        let gathered = ByteBuffer(unsafeUninitializedCount: count * size) { out in
            bytes.withUnsafeBytes { source in
                guard let src = source.baseAddress, let dst = out.baseAddress else { return }
                var index = [Int](repeating: 0, count: rank)
                var base = offset
                var written = 0
                for _ in 0..<outer {
                    if innerStride == 1 {
                        (dst + written).copyMemory(from: src + base * size, byteCount: inner * size)
                        written += inner * size
                    } else {
                        Self.gather(from: src + base * size, stride: innerStride * size, count: inner, size: size, to: dst + written)
                        written += inner * size
                    }
                    // Advance the outer index (dimensions rank-2 … 0), odometer style.
                    var d = rank - 2
                    while d >= 0 {
                        index[d] += 1
                        base += strides[d]
                        if index[d] < shape[d] { break }
                        base -= strides[d] * shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return try RawTensor(dtype: dtype, shape: shape, bytes: gathered)
    }

    /// Copies `count` elements of `size` bytes, `stride` bytes apart, to consecutive memory.
    private static func gather(from source: UnsafeRawPointer, stride: Int, count: Int, size: Int, to target: UnsafeMutableRawPointer) {
        func copy<T>(_: T.Type) {
            for j in 0..<count {
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: j * stride, as: T.self), toByteOffset: j * size, as: T.self)
            }
        }
        switch size {
        case 8: copy(UInt64.self)
        case 4: copy(UInt32.self)
        case 2: copy(UInt16.self)
        default: copy(UInt8.self)
        }
    }

    /// Row-major contiguous, ignoring the strides of size-1 dimensions (which torch leaves arbitrary).
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for (extent, stride) in zip(shape, strides).reversed() where extent != 1 {
            if stride != expected { return false }
            expected *= extent
        }
        return true
    }
}
