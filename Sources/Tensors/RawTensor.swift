/// A tensor as files hold it: element type, shape and row-major contiguous bytes (little-endian).
///
/// The bytes may point into a memory-mapped file (zero-copy); convert with `floats()` /
/// `doubles()` for compute.
public struct RawTensor: Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let bytes: ByteBuffer

    public enum Failure: Error, Equatable {
        case byteCountMismatch(expected: Int, actual: Int)
        case notFloatingPoint(DType)
        case notAMatrix([Int])
    }

    /// Wraps `bytes`, which must hold exactly `numel × dtype.byteSize` bytes.
    public init(dtype: DType, shape: [Int], bytes: ByteBuffer) throws {
        let expected = shape.reduce(1, *) * dtype.byteSize
        guard bytes.count == expected else { throw Failure.byteCountMismatch(expected: expected, actual: bytes.count) }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Number of elements (1 for a 0-d tensor).
    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { bytes.count }

    // MARK: Conversion for compute

    /// The values widened (or narrowed, for F64) to Float32. Integer and bool tensors are refused.
    public func floats() throws -> [Float] {
        guard dtype.isFloatingPoint else { throw Failure.notFloatingPoint(dtype) }
        let n = elementCount
        return bytes.withUnsafeBytes { raw -> [Float] in
            [Float](unsafeUninitializedCapacity: n) { out, initialized in
                defer { initialized = n }
                guard n > 0, let source = raw.baseAddress, let target = out.baseAddress else { return }
                switch dtype {
                case .float32:
                    UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: n * 4)
                case .float16:
                    Self.widenHalves(source, count: n, into: target)
                case .bfloat16:
                    for i in 0..<n { target[i] = HalfPrecision.float(fromBFloat16Bits: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
                default:
                    for i in 0..<n { target[i] = Float(raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                }
            }
        }
    }

    /// fp16 → fp32, 8 values at a time: the exponent and mantissa shifted into place and rebased by
    /// 2^112 (exact for normals and subnormals alike); a group holding an Inf or NaN goes through
    /// `HalfPrecision.float(fromFloat16Bits:)`, which every value equals bit for bit.
    static func widenHalves(_ source: UnsafeRawPointer, count n: Int, into target: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 8 <= n {
            let h = SIMD8<UInt32>(truncatingIfNeeded: source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self))
            if any((h & 0x7C00) .== 0x7C00) {
                for k in i..<(i + 8) { target[k] = HalfPrecision.float(fromFloat16Bits: source.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)) }
            } else {
                let magnitude = unsafeBitCast((h & 0x7FFF) &<< 13, to: SIMD8<Float>.self) * 0x1p112
                let value = unsafeBitCast(unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) | ((h & 0x8000) &<< 16), to: SIMD8<Float>.self)
                UnsafeMutableRawPointer(target + i).storeBytes(of: value, as: SIMD8<Float>.self)
            }
            i += 8
        }
        while i < n {
            target[i] = HalfPrecision.float(fromFloat16Bits: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            i += 1
        }
    }

    /// The values as Float64 (exact for every floating-point dtype).
    public func doubles() throws -> [Double] {
        if dtype == .float64 {
            let n = elementCount
            return bytes.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
        }
        return try floats().map(Double.init)
    }

    // MARK: Construction from values

    /// Stores Float32 values as `dtype` (F32, F16 or BF16 with round-to-nearest-even, or F64).
    public static func from(floats values: [Float], shape: [Int], as dtype: DType = .float32) throws -> RawTensor {
        guard dtype.isFloatingPoint else { throw Failure.notFloatingPoint(dtype) }
        let buffer = ByteBuffer(unsafeUninitializedCount: values.count * dtype.byteSize) { out in
            for (i, v) in values.enumerated() {
                switch dtype {
                case .float32: out.storeBytes(of: v, toByteOffset: i * 4, as: Float.self)
                case .float16: out.storeBytes(of: HalfPrecision.float16Bits(from: v), toByteOffset: i * 2, as: UInt16.self)
                case .bfloat16: out.storeBytes(of: HalfPrecision.bfloat16Bits(from: v), toByteOffset: i * 2, as: UInt16.self)
                default: out.storeBytes(of: Double(v), toByteOffset: i * 8, as: Double.self)
                }
            }
        }
        return try RawTensor(dtype: dtype, shape: shape, bytes: buffer)
    }

    /// Stores Float64 values as F64.
    public static func from(doubles values: [Double], shape: [Int]) throws -> RawTensor {
        let buffer = ByteBuffer(unsafeUninitializedCount: values.count * 8) { out in
            for (i, v) in values.enumerated() { out.storeBytes(of: v, toByteOffset: i * 8, as: Double.self) }
        }
        return try RawTensor(dtype: .float64, shape: shape, bytes: buffer)
    }

    /// Whether every element is finite (always true for integer and bool tensors). Checks the
    /// exponent bits in place, without converting.
    public func allFinite() -> Bool {
        let n = elementCount
        return bytes.withUnsafeBytes { raw in
            switch dtype {
            case .float32: return (0..<n).allSatisfy { raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self) & 0x7F80_0000 != 0x7F80_0000 }
            case .float16: return (0..<n).allSatisfy { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) & 0x7C00 != 0x7C00 }
            case .bfloat16: return (0..<n).allSatisfy { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) & 0x7F80 != 0x7F80 }
            case .float64: return (0..<n).allSatisfy { raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) & 0x7FF0_0000_0000_0000 != 0x7FF0_0000_0000_0000 }
            default: return true
            }
        }
    }
}

extension RawTensor {
    /// A 2-D floating-point tensor as a Float32 matrix (fp16/bf16 widened exactly).
    public func matrix() throws -> Matrix<Float> {
        guard shape.count == 2 else { throw Failure.notAMatrix(shape) }
        return Matrix(rows: shape[0], cols: shape[1], storage: try floats())
    }
}
