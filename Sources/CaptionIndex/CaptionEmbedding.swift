import Foundation
import Tensors

/// How caption embeddings are stored: L2-normalised, then fp16 little-endian (`dimension` values,
/// `2 × dimension` bytes), so that cosine similarity is a dot product.
public enum CaptionEmbedding {
    public enum Problem: Error { case nonFinite, zeroNorm }

    /// ‖x‖₂ in Float64, or a problem when a value is not finite or the norm is zero.
    public static func norm(_ values: UnsafeBufferPointer<Float>) throws(Problem) -> Double {
        var sum = 0.0
        for v in values {
            guard v.isFinite else { throw .nonFinite }
            sum += Double(v) * Double(v)
        }
        let n = sum.squareRoot()
        guard n > 0, n.isFinite else { throw .zeroNorm }
        return n
    }

    /// `values / ‖values‖` as fp16 bytes.
    public static func encode(_ values: UnsafeBufferPointer<Float>) throws(Problem) -> Data {
        let scale = 1 / (try norm(values))
        var data = Data(count: values.count * 2)
        data.withUnsafeMutableBytes { raw in
            for (j, v) in values.enumerated() {
                raw.storeBytes(of: HalfPrecision.float16Bits(from: Float(Double(v) * scale)).littleEndian, toByteOffset: 2 * j, as: UInt16.self)
            }
        }
        return data
    }

    /// The stored fp16 bytes as Float32 values.
    public static func decode(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 2)).map { HalfPrecision.float(fromFloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        }
    }

    /// `values / ‖values‖` in Float32 (queries).
    public static func normalized(_ values: [Float]) throws(Problem) -> [Float] {
        let n = try values.withUnsafeBufferPointer { buffer throws(Problem) in try norm(buffer) }
        return values.map { Float(Double($0) / n) }
    }
}
