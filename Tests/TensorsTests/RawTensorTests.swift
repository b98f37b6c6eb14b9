import Foundation
import Testing
@testable import Tensors

/// `RawTensor`, `ByteBuffer`, `MappedFile` and `DType`: storage round trips through every float
/// dtype, byte layout (little-endian), and the typed errors for bad sizes and non-float dtypes.
@Suite("RawTensor and storage")
struct RawTensorTests {
    static let values: [Float] = [0, -0.0, 1, -2.5, 0.1, 65504, 70000, 1e-6, 3.0e-8, .infinity, -.infinity, 1.0 / 3.0]

    @Test("F32 and F64 store values exactly and read them back", arguments: [DType.float32, .float64])
    func exactRoundTrip(dtype: DType) throws {
        let t = try RawTensor.from(floats: Self.values, shape: [3, 4], as: dtype)
        #expect(t.dtype == dtype && t.shape == [3, 4] && t.elementCount == 12)
        #expect(t.byteCount == 12 * dtype.byteSize)
        let back = try t.floats()
        #expect(back.map(\.bitPattern) == Self.values.map(\.bitPattern))
        #expect(try t.doubles() == Self.values.map(Double.init))
    }

    @Test("F16 and BF16 store the round-to-nearest-even bit patterns, little-endian")
    func halfStorage() throws {
        let f16 = try RawTensor.from(floats: Self.values, shape: [12], as: .float16)
        let bf16 = try RawTensor.from(floats: Self.values, shape: [12], as: .bfloat16)
        let bytes16 = [UInt8](f16.bytes.data), bytesB = [UInt8](bf16.bytes.data)
        for (i, v) in Self.values.enumerated() {
            let h = HalfPrecision.float16Bits(from: v), b = HalfPrecision.bfloat16Bits(from: v)
            #expect(bytes16[2 * i] == UInt8(h & 0xFF) && bytes16[2 * i + 1] == UInt8(h >> 8))
            #expect(bytesB[2 * i] == UInt8(b & 0xFF) && bytesB[2 * i + 1] == UInt8(b >> 8))
        }
        #expect(try f16.floats() == Self.values.map { HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits(from: $0)) })
        #expect(try bf16.floats() == Self.values.map { HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: $0)) })
        // Spot values: 70000 overflows fp16 but not bf16; 1 is exact in both.
        #expect(try f16.floats()[6] == .infinity)
        #expect(try bf16.floats()[6] == 70144)  // bf16 spacing at 2^16 is 512: 70000 → 137·512
        #expect(try f16.floats()[2] == 1 && bf16.floats()[2] == 1)
    }

    @Test("F64 keeps full Float64 precision through doubles()")
    func float64Exact() throws {
        let values = [Double.pi, 1e300, -1e-300, 0.1]
        let t = try RawTensor.from(doubles: values, shape: [2, 2])
        #expect(t.dtype == .float64)
        #expect(try t.doubles() == values)
        #expect(try t.floats() == values.map(Float.init))
    }

    @Test("a 0-d tensor holds one element")
    func scalarTensor() throws {
        let t = try RawTensor.from(floats: [42], shape: [], as: .bfloat16)
        #expect(t.elementCount == 1 && t.byteCount == 2)
        #expect(try t.floats() == [42])
    }

    @Test("wrong byte count is a typed error")
    func byteCountMismatch() {
        let buffer = ByteBuffer(copying: Data([1, 2, 3, 4, 5, 6]))
        #expect(throws: RawTensor.Failure.byteCountMismatch(expected: 8, actual: 6)) {
            try RawTensor(dtype: .float32, shape: [2], bytes: buffer)
        }
    }

    @Test("integer and bool tensors refuse float conversion", arguments: [DType.int32, .int64, .uint8, .bool])
    func notFloatingPoint(dtype: DType) throws {
        let t = try RawTensor(dtype: dtype, shape: [2], bytes: ByteBuffer(copying: Data(repeating: 0, count: 2 * dtype.byteSize)))
        #expect(throws: RawTensor.Failure.notFloatingPoint(dtype)) { try t.floats() }
        #expect(throws: RawTensor.Failure.notFloatingPoint(dtype)) { try RawTensor.from(floats: [1], shape: [1], as: dtype) }
        #expect(t.allFinite())
    }

    @Test("allFinite sees NaN and Inf in every float dtype", arguments: [DType.float32, .float16, .bfloat16, .float64])
    func allFinite(dtype: DType) throws {
        #expect(try RawTensor.from(floats: [1, 2, 3], shape: [3], as: dtype).allFinite())
        #expect(try !RawTensor.from(floats: [1, .nan, 3], shape: [3], as: dtype).allFinite())
        #expect(try !RawTensor.from(floats: [1, -.infinity], shape: [2], as: dtype).allFinite())
    }

    @Test("DType names and sizes follow safetensors")
    func dtypeNames() {
        #expect(DType(safetensorsName: "BF16") == .bfloat16)
        #expect(DType(safetensorsName: "F8_E4M3") == nil)
        #expect(DType.allCases.map(\.safetensorsName) == ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"])
        #expect(DType.allCases.map(\.byteSize) == [8, 4, 2, 2, 8, 4, 2, 1, 1, 1])
        #expect(DType.allCases.filter(\.isFloatingPoint) == [.float64, .float32, .float16, .bfloat16])
    }

    @Test("ByteBuffer slices share memory and keep their parent alive")
    func byteBufferSlice() {
        var slice: ByteBuffer?
        do {
            let parent = ByteBuffer(copying: Data(0..<16))
            slice = parent.slice(4..<8)
            #expect(slice?.baseAddress == parent.baseAddress.map { $0 + 4 })
        }
        #expect(slice.map { [UInt8]($0.data) } == [4, 5, 6, 7])
        #expect(ByteBuffer(copying: Data()).count == 0)
    }

    @Test("MappedFile maps a file's bytes and reports missing files with their path")
    func mappedFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tensors-mapped-\(UUID().uuidString).bin")
        try Data([9, 8, 7, 6, 5]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let mapped = try MappedFile.map(path: url.path)
        #expect([UInt8](mapped.data) == [9, 8, 7, 6, 5])
        #expect([UInt8](mapped.slice(1..<3).data) == [8, 7])

        let empty = url.appendingPathExtension("empty")
        try Data().write(to: empty)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(try MappedFile.map(path: empty.path).count == 0)

        let missing = url.path + ".missing"
        #expect(throws: MappedFile.Failure.self) { try MappedFile.map(path: missing) }
        do {
            _ = try MappedFile.map(path: missing)
        } catch let failure as MappedFile.Failure {
            #expect(failure.errorDescription?.contains(missing) == true)
        }
        #expect(throws: MappedFile.Failure.self) { try MappedFile.map(path: FileManager.default.temporaryDirectory.path) }
    }
}
