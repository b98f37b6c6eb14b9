import Foundation
import TestSupport
import Testing
import TensorFormats

/// The files of `fixtures/safetensors/` (written by `python3 fixtures/generate_safetensors.py`), and
/// its golden JSON sidecars decoded.
enum SafetensorsFixtures {
    /// `<package root>/fixtures/safetensors`.
    static let root: String = fixtureURL("safetensors").path

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func bytes(_ relative: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(relative))) }

    /// One golden tensor: what torch reads from the fixture.
    struct Tensor: Decodable {
        let dtype: String
        let shape: [Int]
        let values: [Value]
        /// The tensor's exact little-endian bytes, hex-encoded.
        let hex: String

        var rawBytes: [UInt8] {
            let digits = Array(hex.utf8)
            return stride(from: 0, to: digits.count, by: 2).map { i in
                UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) ?? 0
            }
        }

        /// The golden tensor as a `RawTensor` (for the writer tests).
        func rawTensor() throws -> RawTensor {
            let dtype = try #require(DType(safetensorsName: dtype))
            return try RawTensor(dtype: dtype, shape: shape, bytes: ByteBuffer(copying: rawBytes))
        }
    }

    /// A JSON value: an integer, a float, or `"nan"`/`"inf"`/`"-inf"`. Both readings are kept, so
    /// that `-0.0` stays negative zero as a float and 2⁶³−1 stays exact as an integer.
    struct Value: Decodable {
        let integer: Int64?
        let double: Double?

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            switch try? container.decode(String.self) {
            case "nan": (integer, double) = (nil, .nan)
            case "inf": (integer, double) = (nil, .infinity)
            case "-inf": (integer, double) = (nil, -.infinity)
            case let other?: throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown value \(other)")
            case nil: (integer, double) = (try? container.decode(Int64.self), try container.decode(Double.self))
            }
        }
    }

    struct AllDTypes: Decodable {
        let metadata: [String: String]
        let tensors: [String: Tensor]
    }

    static func allDTypes() throws -> AllDTypes {
        try JSONDecoder().decode(AllDTypes.self, from: bytes("all_dtypes.json"))
    }

    /// Integer values of an integer or bool tensor, widened to Int64.
    static func integers(_ tensor: RawTensor) -> [Int64]? {
        let n = tensor.elementCount
        return tensor.bytes.withUnsafeBytes { raw -> [Int64]? in
            switch tensor.dtype {
            case .int64: (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
            case .int32: (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .int16: (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
            case .int8: (0..<n).map { Int64(raw.load(fromByteOffset: $0, as: Int8.self)) }
            case .uint8, .bool: (0..<n).map { Int64(raw.load(fromByteOffset: $0, as: UInt8.self)) }
            default: nil
            }
        }
    }

    /// The bytes of a tensor.
    static func bytes(of tensor: RawTensor) -> [UInt8] { tensor.bytes.withUnsafeBytes { Array($0) } }
}
