import CKernels
import Foundation

/// A weight as the model keeps it in memory: Float32, or IEEE fp16 bits when the file holds fp16 (an SD 1.x UNet
/// is 1.7 GB in fp16, 3.4 GB in Float32). fp16 values are widened exactly to Float32 (`ck_half_to_float`) into
/// a scratch buffer just before the layer's product, once per call for the whole batch.
struct StoredWeights: @unchecked Sendable {
    enum Values {
        case float32([Float])
        case float16([UInt16])
    }

    var values: Values
    var count: Int {
        switch values {
        case .float32(let v): v.count
        case .float16(let v): v.count
        }
    }

    /// Keeps fp16 as fp16; Float32 as is; bf16 and F64 widened or narrowed to Float32.
    init(_ tensor: RawTensor, name: String) throws {
        guard tensor.dtype.isFloatingPoint else {
            throw DiffusionModelsError.notFloatingPoint(name: name, dtype: "\(tensor.dtype)")
        }
        if tensor.dtype == .float16 {
            let n = tensor.elementCount
            values = .float16(tensor.bytes.withUnsafeBytes { raw in
                [UInt16](unsafeUninitializedCapacity: n) { out, initialized in
                    if n > 0, let base = raw.baseAddress, let target = out.baseAddress {
                        UnsafeMutableRawPointer(target).copyMemory(from: base, byteCount: 2 * n)
                    }
                    initialized = n
                }
            })
        } else {
            values = .float32(try tensor.floats())
        }
    }

    init(floats: [Float]) { values = .float32(floats) }

    /// The same values with element `i` of the result taken from element `source(i)` (a layout change made once,
    /// at load), in the stored precision.
    func permuted(_ source: (Int) -> Int) -> StoredWeights {
        var copy = self
        switch values {
        case .float32(let v): copy.values = .float32((0..<v.count).map { v[source($0)] })
        case .float16(let v): copy.values = .float16((0..<v.count).map { v[source($0)] })
        }
        return copy
    }

    /// Calls `body` with the values as Float32: the stored array itself, or fp16 widened into `scratch`.
    func withFloats<R>(_ scratch: WeightScratch, _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        switch values {
        case .float32(let v):
            return try v.withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(scratch.pointer(count: 0))) }
        case .float16(let v):
            let target = scratch.pointer(count: v.count)
            v.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { ck_half_to_float(base, target, v.count) }
            }
            return try body(target)
        }
    }
}

/// The buffer fp16 weights are widened into, grown to the largest layer; one per model (calls are serialised).
final class WeightScratch: @unchecked Sendable {
    private var buffer = FloatBuffer(count: 0)

    func pointer(count: Int) -> UnsafeMutablePointer<Float> {
        if buffer.count < count { buffer = FloatBuffer(count: count) }
        return buffer.pointer
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
