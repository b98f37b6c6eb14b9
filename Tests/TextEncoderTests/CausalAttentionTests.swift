import Foundation
import Testing
@testable import TextEncoder
import Tensors

/// `TransformerKernels.causalAttention` (the AVX-512 kernel with its polynomial exponential where the CPU has it,
/// `sgemm` elsewhere) against a Float64 reference, for SD-sized heads (d_h = 64, 77 tokens), a head width that is not
/// a multiple of 16, several sequences in one batch, and scores large enough that most softmax weights underflow.
/// Tolerance: 2e-5 absolute on outputs of magnitude ≤ 1.
@Suite("Causal attention")
struct CausalAttentionTests {
    static func reference(_ qkv: [Float], spans: [Range<Int>], d: Int, heads: Int) -> [Double] {
        let dh = d / heads, scale = 1 / Double(dh).squareRoot()
        var out = [Double](repeating: 0, count: (spans.last?.upperBound ?? 0) * d)
        for span in spans {
            for h in 0..<heads {
                for i in span {
                    let scores = span.lowerBound...i
                    let s = scores.map { j in (0..<dh).reduce(0.0) { $0 + Double(qkv[i * 3 * d + h * dh + $1]) * Double(qkv[j * 3 * d + d + h * dh + $1]) } * scale }
                    let m = s.max()!
                    let e = s.map { Foundation.exp($0 - m) }
                    let total = e.reduce(0, +)
                    for t in 0..<dh {
                        out[i * d + h * dh + t] = zip(scores, e).reduce(0.0) { $0 + $1.1 * Double(qkv[$1.0 * 3 * d + 2 * d + h * dh + t]) } / total
                    }
                }
            }
        }
        return out
    }

    @Test("matches Float64 softmax attention", arguments: [
        (d: 128, heads: 2, lengths: [77], spread: Float(1)),
        (d: 60, heads: 3, lengths: [5, 1, 17], spread: Float(1)),
        (d: 128, heads: 2, lengths: [40], spread: Float(12)),
    ])
    func matchesReference(d: Int, heads: Int, lengths: [Int], spread: Float) {
        var rng = SplitMix64(seed: UInt64(d * 31 + lengths.count))
        var spans: [Range<Int>] = [], total = 0
        for n in lengths { spans.append(total..<(total + n)); total += n }
        let qkv = (0..<(total * 3 * d)).map { _ in spread * (Float(rng.next() >> 40) / Float(1 << 23) - 1) }
        var out = [Float](repeating: .nan, count: total * d)
        var scores = [Float](repeating: 0, count: (lengths.max() ?? 0) * (lengths.max() ?? 0))
        TransformerKernels.causalAttention(qkv, spans: spans, width: d, heads: heads, into: &out, scores: &scores)
        let expected = Self.reference(qkv, spans: spans, d: d, heads: heads)
        let worst = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worst < 2e-5 * Double(spread), "d \(d), heads \(heads), lengths \(lengths): \(worst)")
    }
}
