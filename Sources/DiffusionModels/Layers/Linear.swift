import CKernels
import Foundation
import Tensors

/// A linear layer `y = x·Wᵀ + b` (PyTorch `nn.Linear`; also a 1×1 convolution read as [out, in]).
struct Linear: @unchecked Sendable {
    let inFeatures: Int
    let outFeatures: Int
    var weight: StoredWeights
    let bias: [Float]?

    /// `prefix.weight` ([out, in] or [out, in, 1, 1]) and, when `hasBias`, `prefix.bias`.
    init(_ reader: WeightReader, _ prefix: String, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) throws {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = try reader.weights(prefix + ".weight", shape: [outFeatures, inFeatures])
        bias = hasBias ? try reader.floats(prefix + ".bias", count: outFeatures) : nil
    }

    /// `y` (`rows × out`, row-major) = `x` (`rows × in`)·Wᵀ + b; `accumulate` adds to `y` instead.
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
               scratch: WeightScratch) {
        if accumulate {
            if let bias { for r in 0..<rows { bias.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { ck_add(y + r * outFeatures, base, outFeatures) } } } }
        } else {
            fillColumns(y, rows: rows, columns: outFeatures, bias: bias)
        }
        weight.withFloats(scratch) { w in
            sgemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: w,
                  ldb: inFeatures, beta: 1, c: y, ldc: outFeatures)
        }
    }

    func apply(_ x: UnsafePointer<Float>, rows: Int, scratch: WeightScratch) -> FloatBuffer {
        let y = FloatBuffer(count: rows * outFeatures)
        apply(x, rows: rows, into: y.pointer, scratch: scratch)
        return y
    }
}
