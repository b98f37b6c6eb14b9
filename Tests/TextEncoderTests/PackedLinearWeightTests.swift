import Foundation
import Testing
@testable import TextEncoder
import Tensors

/// `PackedLinearWeight` (the AVX-512 packed kernel where the CPU has it, `sgemm` elsewhere) against a Float64
/// reference `y = x·Wᵀ + b`, for shapes that exercise partial panels (outputs not a multiple of 32), every row-block
/// size 1…12, uneven row partitions, several passes of rows, and accumulation. Tolerance: 1e-5 relative to Σ|x_k w_k|.
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

    @Test("y = x·Wᵀ + b and y += x·Wᵀ + b match Float64 for odd shapes and row counts", arguments: [
        (1, 5, 3), (7, 33, 17), (12, 64, 40), (13, 70, 100), (25, 31, 64), (77, 96, 48), (200, 45, 30),
    ])
    func matchesReference(rows: Int, outputs: Int, inputs: Int) throws {
        var rng = SplitMix64(seed: UInt64(rows * 1000 + outputs))
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() >> 40) / Float(1 << 23) - 1 } }
        let w = values(outputs * inputs), x = values(rows * inputs), bias = values(outputs), start = values(rows * outputs)
        let weight = PackedLinearWeight(w, outputs: outputs, inputs: inputs)
        for accumulate in [false, true] {
            // Poison the untouched output when overwriting: the kernel must not read it.
            var y = accumulate ? start : [Float](repeating: .nan, count: rows * outputs)
            x.withUnsafeBufferPointer { px in bias.withUnsafeBufferPointer { pb in y.withUnsafeMutableBufferPointer { py in
                weight.apply(px.baseAddress!, rows: rows, bias: pb.baseAddress!, into: py.baseAddress!, accumulate: accumulate)
            } } }
            let expected = Self.reference(x, rows: rows, w, outputs: outputs, inputs: inputs, bias: bias, start: accumulate ? start : nil)
            let worst = zip(y.indices, y).map { i, v in abs(Double(v) - expected.values[i]) / max(expected.scale[i], 1e-30) }.max() ?? .infinity
            #expect(worst < 1e-5, "rows \(rows), \(outputs)×\(inputs), accumulate \(accumulate): \(worst)")
        }
    }

    @Test("the packed kernel is in use exactly when the CPU has AVX-512F (/proc/cpuinfo)")
    func kernelChoice() throws {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return }
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? []
        #expect(PackedLinearWeight.kernelAvailable == flags.contains("avx512f"))
    }
}
