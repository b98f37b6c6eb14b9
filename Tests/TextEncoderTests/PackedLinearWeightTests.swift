import Foundation
import Testing
@testable import TextEncoder
import Tensors

/// `PackedLinearWeight` on every kernel path this CPU runs (AVX-512 and AVX2 packed kernels, `sgemm` on `generic`)
/// against a Float64 reference `y = x·Wᵀ + b`, for shapes that exercise partial panels (outputs not a multiple of 32),
/// every row-block size 1…12, uneven row partitions, several passes of rows, and accumulation. Tolerance: 1e-5
/// relative to Σ|x_k w_k|. The AVX2 path must also equal the AVX-512 path bit for bit (same FMA chain per output).
@Suite("Packed linear layers")
struct PackedLinearWeightTests {
    static func reference(_ x: [Float], rows: Int, _ w: [Float], outputs: Int, inputs: Int, bias: [Float], start: [Float]?) -> (values: [Double], scale: [Double]) {
        var values = [Double](repeating: 0, count: rows * outputs), scale = values
        for r in 0..<rows {
            for o in 0..<outputs {
                var sum = Double(bias[o]) + Double(start?[r * outputs + o] ?? 0), magnitude = abs(sum)
                for k in 0..<inputs {
                    let term = Double(x[r * inputs + k]) * Double(w[o * inputs + k])
                    sum += term
                    magnitude += abs(term)
                }
                values[r * outputs + o] = sum
                scale[r * outputs + o] = magnitude
            }
        }
        return (values, scale)
    }

    static let shapes = [(1, 5, 3), (2, 40, 9), (7, 33, 17), (12, 64, 40), (13, 70, 100), (25, 31, 64), (77, 96, 48), (200, 45, 30)]

    @Test("y = x·Wᵀ + b and y += x·Wᵀ + b match Float64 for odd shapes and row counts, on every path",
          arguments: KernelPath.available, shapes)
    func matchesReference(path: KernelPath, shape: (rows: Int, outputs: Int, inputs: Int)) throws {
        let (rows, outputs, inputs) = shape
        var rng = SplitMix64(seed: UInt64(rows * 1000 + outputs))
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() >> 40) / Float(1 << 23) - 1 } }
        let w = values(outputs * inputs), x = values(rows * inputs), bias = values(outputs), start = values(rows * outputs)
        let weight = KernelPath.$override.withValue(path) { PackedLinearWeight(w, outputs: outputs, inputs: inputs) }
        #expect(weight.path == path && weight.isPacked == path.hasPackedKernels)
        for accumulate in [false, true] {
            // Poison the untouched output when overwriting: the kernel must not read it.
            var y = accumulate ? start : [Float](repeating: .nan, count: rows * outputs)
            x.withUnsafeBufferPointer { px in bias.withUnsafeBufferPointer { pb in y.withUnsafeMutableBufferPointer { py in
                weight.apply(px.baseAddress!, rows: rows, bias: pb.baseAddress!, into: py.baseAddress!, accumulate: accumulate)
            } } }
            let expected = Self.reference(x, rows: rows, w, outputs: outputs, inputs: inputs, bias: bias, start: accumulate ? start : nil)
            let worst = zip(y.indices, y).map { i, v in abs(Double(v) - expected.values[i]) / max(expected.scale[i], 1e-30) }.max() ?? .infinity
            #expect(worst < 1e-5, "\(path): rows \(rows), \(outputs)×\(inputs), accumulate \(accumulate): \(worst)")
        }
    }

    /// `y` of `weight` (a packed or row-major weight) for `x`, starting from `start` when accumulating; a packed
    /// weight runs on `kernel` (`generic`: the portable C path), by default its own path.
    static func apply(_ weight: PackedLinearWeight, _ x: [Float], rows: Int, bias: [Float], start: [Float]?, kernel: KernelPath? = nil) -> [Float] {
        var y = start ?? [Float](repeating: .nan, count: rows * weight.outputs)
        x.withUnsafeBufferPointer { px in bias.withUnsafeBufferPointer { pb in y.withUnsafeMutableBufferPointer { py in
            weight.apply(px.baseAddress!, rows: rows, bias: pb.baseAddress!, into: py.baseAddress!, accumulate: start != nil,
                         kernel: kernel ?? weight.path)
        } } }
        return y
    }

    @Test("the AVX2 path and the portable C path equal the AVX-512 path bit for bit, Float32 and fp16 weights",
          arguments: shapes)
    func pathsAgree(shape: (rows: Int, outputs: Int, inputs: Int)) throws {
        let best = KernelPath.supported
        guard best.hasPackedKernels else { return }  // no vector path on this CPU: weights are never packed
        let (rows, outputs, inputs) = shape
        var rng = SplitMix64(seed: UInt64(rows * 7 + inputs))
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() >> 40) / Float(1 << 23) - 1 } }
        let w = values(outputs * inputs), x = values(rows * inputs), bias = values(outputs), start = values(rows * outputs)
        let half = try RawTensor.from(floats: w, shape: [outputs, inputs], as: .float16)
        // Packed on the CPU's best path, run on every path (the layout is the same; `generic` runs the portable C code).
        let (single, packedHalf) = try KernelPath.$override.withValue(best) {
            (PackedLinearWeight(w, outputs: outputs, inputs: inputs), try PackedLinearWeight(tensor: half, outputs: outputs, inputs: inputs))
        }
        #expect(single.isPacked && packedHalf.isPacked)
        var results: [[[Float]]] = []
        for path in KernelPath.available {
            results.append([single, packedHalf].flatMap { weight in
                [Self.apply(weight, x, rows: rows, bias: bias, start: nil, kernel: path),
                 Self.apply(weight, x, rows: rows, bias: bias, start: start, kernel: path)]
            })
        }
        #expect(results.count == KernelPath.available.count)
        for other in results.dropFirst() {
            for (a, b) in zip(results[0], other) {
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "rows \(rows), \(outputs)×\(inputs)")
            }
        }
    }
}
