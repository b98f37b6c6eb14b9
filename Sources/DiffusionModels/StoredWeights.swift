import CKernels
import Foundation
import Tensors

/// A weight as the model keeps it in memory: Float32, or IEEE fp16 when the file holds fp16 (an SD 1.x UNet is
/// 1.7 GB in fp16, 3.4 GB in Float32). fp16 tensors are not copied: they stay in the (memory-mapped) file buffer
/// and are widened exactly to Float32 (`ck_half_to_float`) into a scratch buffer just before the layer's product,
/// once per call for the whole batch.
struct StoredWeights: @unchecked Sendable {
    enum Values {
        case float32([Float])
        case float16(ByteBuffer)
    }

    var values: Values
    let count: Int

    /// Keeps fp16 as fp16 (zero-copy); Float32 as is; bf16 and F64 widened or narrowed to Float32.
    init(_ tensor: RawTensor, name: String) throws {
        guard tensor.dtype.isFloatingPoint else {
            throw DiffusionModelsError.notFloatingPoint(name: name, dtype: "\(tensor.dtype)")
        }
        count = tensor.elementCount
        values = tensor.dtype == .float16 ? .float16(tensor.bytes) : .float32(try tensor.floats())
    }

    init(floats: [Float]) {
        values = .float32(floats)
        count = floats.count
    }

    /// Calls `body` with the values as Float32: the stored array itself, or fp16 widened into `scratch`.
    func withFloats<R>(_ scratch: WeightScratch, _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        switch values {
        case .float32(let v):
            return try v.withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(scratch.pointer(count: 0))) }
        case .float16(let bytes):
            let target = scratch.pointer(count: count)
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                let half = base.assumingMemoryBound(to: UInt16.self)
                Parallel.forEach(count, minimum: 1 << 16) { part in
                    ck_half_to_float(half + part.lowerBound, target + part.lowerBound, part.count)
                }
            }
            return try body(target)
        }
    }
}

/// A model's reusable work buffers, grown to the largest layer and kept (calls are serialised by the model's
/// lock): fp16 weights are widened into `pointer(count:)`; convolutions pad their input into `padded` and form
/// their wide output in `wide`. Reuse avoids page-faulting hundreds of MB of fresh memory on every layer.
final class WeightScratch: @unchecked Sendable {
    private var buffer = FloatBuffer(count: 0)
    private var paddedBuffer = FloatBuffer(count: 0)
    private var wideBuffer = FloatBuffer(count: 0)

    func pointer(count: Int) -> UnsafeMutablePointer<Float> {
        if buffer.count < count { buffer = FloatBuffer(count: count) }
        return buffer.pointer
    }

    func padded(count: Int) -> UnsafeMutablePointer<Float> {
        if paddedBuffer.count < count { paddedBuffer = FloatBuffer(count: count) }
        return paddedBuffer.pointer
    }

    private var transformedBuffer = FloatBuffer(count: 0)

    /// Weights transformed per call (3×3 taps, Winograd U).
    func transformed(count: Int) -> UnsafeMutablePointer<Float> {
        if transformedBuffer.count < count { transformedBuffer = FloatBuffer(count: count) }
        return transformedBuffer.pointer
    }

    func wide(count: Int) -> UnsafeMutablePointer<Float> {
        if wideBuffer.count < count { wideBuffer = FloatBuffer(count: count) }
        return wideBuffer.pointer
    }
}

/// Reads tensors from a `WeightSource` checking each shape against what the configuration implies.
struct WeightReader {
    let source: any WeightSource
    let names: Set<String>

    init(_ source: any WeightSource) {
        self.source = source
        names = Set(source.tensorNames)
    }

    func raw(_ name: String, shape: [Int]) throws -> RawTensor {
        let tensor = try source.tensor(named: name)
        // 1×1 convolutions and linear layers are interchangeable: [o, i, 1, 1] and [o, i] hold the same values.
        let squeeze: ([Int]) -> [Int] = { s in s.count == 4 && s[2] == 1 && s[3] == 1 ? Array(s[0..<2]) : s }
        guard tensor.shape == shape || squeeze(tensor.shape) == squeeze(shape) else {
            throw DiffusionModelsError.shapeMismatch(name: name, expected: shape, actual: tensor.shape)
        }
        guard tensor.dtype.isFloatingPoint else {
            throw DiffusionModelsError.notFloatingPoint(name: name, dtype: "\(tensor.dtype)")
        }
        return tensor
    }

    func weights(_ name: String, shape: [Int]) throws -> StoredWeights {
        try StoredWeights(raw(name, shape: shape), name: name)
    }

    /// Small vectors (biases, norm scales) are always kept as Float32.
    func floats(_ name: String, count: Int) throws -> [Float] {
        try raw(name, shape: [count]).floats()
    }

    func has(_ name: String) -> Bool { names.contains(name) }
}
