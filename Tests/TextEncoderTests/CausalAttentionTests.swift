import Foundation
import Testing
@testable import TextEncoder
import Tensors

/// `TransformerKernels.causalAttention` on every kernel path this CPU runs (the AVX-512 and AVX2 kernels with their
/// polynomial exponential, `sgemm` on `generic`) against a Float64 reference, for SD-sized heads (d_h = 64, 77
/// tokens), a head width that is not a multiple of 16, several sequences in one batch, and scores large enough that
/// most softmax weights underflow. Tolerance: 2e-5 absolute on outputs of magnitude ≤ 1. The AVX2 and AVX-512
/// kernels must agree bit for bit.
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

    struct Case: Sendable, CustomTestStringConvertible {
        let d: Int, heads: Int, lengths: [Int], spread: Float
        var testDescription: String { "d \(d), \(heads) heads, lengths \(lengths), spread \(spread)" }
    }

    static let cases = [
        Case(d: 128, heads: 2, lengths: [77], spread: 1),
        Case(d: 60, heads: 3, lengths: [5, 1, 17], spread: 1),
        Case(d: 128, heads: 2, lengths: [40], spread: 12),
    ]

    /// The kernel's output on `path` for the case's seeded inputs, with the inputs.
    static func run(_ c: Case, path: KernelPath) -> (qkv: [Float], spans: [Range<Int>], out: [Float]) {
        var rng = SplitMix64(seed: UInt64(c.d * 31 + c.lengths.count))
        var spans: [Range<Int>] = [], total = 0
        for n in c.lengths { spans.append(total..<(total + n)); total += n }
        let qkv = (0..<(total * 3 * c.d)).map { _ in c.spread * (Float(rng.next() >> 40) / Float(1 << 23) - 1) }
        var out = [Float](repeating: .nan, count: total * c.d)
        var scores = [Float](repeating: 0, count: (c.lengths.max() ?? 0) * (c.lengths.max() ?? 0))
        TransformerKernels.causalAttention(qkv, spans: spans, width: c.d, heads: c.heads, into: &out, scores: &scores, path: path)
        return (qkv, spans, out)
    }

    @Test("matches Float64 softmax attention on every path", arguments: KernelPath.available, cases)
    func matchesReference(path: KernelPath, c: Case) {
        let (qkv, spans, out) = Self.run(c, path: path)
        let expected = Self.reference(qkv, spans: spans, d: c.d, heads: c.heads)
        let worst = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worst < 2e-5 * Double(c.spread), "\(path), \(c.testDescription): \(worst)")
    }

    @Test("the AVX2 kernel equals the AVX-512 kernel bit for bit", arguments: cases)
    func pathsAgree(c: Case) {
        let vectorPaths = KernelPath.available.filter(\.hasPackedKernels)
        guard vectorPaths.count > 1 else { return }  // nothing to compare on this CPU
        let outputs = vectorPaths.map { Self.run(c, path: $0).out.map(\.bitPattern) }
        for other in outputs.dropFirst() { #expect(other == outputs[0], "\(c.testDescription)") }
    }
}
