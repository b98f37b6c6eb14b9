import CKernels
import Dispatch
import Foundation
import Tensors

/// The transformer's building blocks on row-major Float32 buffers: linear layers (`PackedLinearWeight`: our packed
/// kernel, or BLAS `sgemm`), layer norm, activations, causal multi-head attention.
enum TransformerKernels {
    /// `y ← (accumulate ? y : 0) + x·Wᵀ + b` for `rows` rows: `x` is `rows × inputs`, `W` (a PyTorch `Linear`
    /// weight, `outputs × inputs`) in the form `PackedLinearWeight` keeps it, `y` is `rows × outputs`.
    static func linear(_ x: [Float], rows: Int, weight: PackedLinearWeight, bias: [Float], into y: inout [Float], accumulate: Bool) {
        x.withUnsafeBufferPointer { px in
            bias.withUnsafeBufferPointer { pb in
                y.withUnsafeMutableBufferPointer { py in
                    weight.apply(px.baseAddress!, rows: rows, bias: pb.baseAddress!, into: py.baseAddress!, accumulate: accumulate)
                }
            }
        }
    }

    /// Layer norm over each row of `x` (`rows × width`): `(x − μ) / √(σ² + ε) · γ + β`, biased variance
    /// (PyTorch `nn.LayerNorm`), two-pass mean and variance.
    static func layerNorm(_ x: [Float], rows: Int, width: Int, weight: [Float], bias: [Float], eps: Float) -> [Float] {
        var out = [Float](repeating: 0, count: rows * width)
        layerNorm(x, rows: rows, width: width, weight: weight, bias: bias, eps: eps, into: &out)
        return out
    }

    /// The same into `out` (at least `rows × width`), so that a forward pass reuses its buffers.
    static func layerNorm(_ x: [Float], rows: Int, width: Int, weight: [Float], bias: [Float], eps: Float, into out: inout [Float]) {
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                weight.withUnsafeBufferPointer { pw in
                    bias.withUnsafeBufferPointer { pb in
                        for r in 0..<rows {
                            let src = px.baseAddress! + r * width
                            let dst = po.baseAddress! + r * width
                            let (mean, variance) = VectorMath.meanVariance(src, count: width)
                            let inv = 1 / (variance + eps).squareRoot()
                            for j in 0..<width { dst[j] = (src[j] - mean) * inv * pw[j] + pb[j] }
                        }
                    }
                }
            }
        }
    }

    /// The MLP activation applied in place.
    static func activate(_ x: inout [Float], _ activation: CLIPTextConfiguration.Activation) {
        x.withUnsafeMutableBufferPointer { p in
            switch activation {
            case .quickGELU:
                VectorMath.quickGELU(p)
            case .gelu:
                for i in p.indices { let v = p[i]; p[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
            case .geluNew, .geluTanh:
                for i in p.indices {
                    let v = p[i]
                    p[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
                }
            }
        }
    }

    /// Causal multi-head self-attention for a batch of sequences stored back to back.
    ///
    /// `qkv` is `N × 3d` (`[Q | K | V]` per row), `spans` the row range of each sequence; returns `N × d` with
    /// head `h` of row `i` = `Σ_{j ≤ i} softmax_j(q_i·k_j · d_h^{-1/2}) v_j` over the same sequence.
    ///
    /// Writes every element of `out` (`N × d`); `scores` is scratch of at least `longest² ` floats.
    ///
    /// On the AVX-512 and AVX2 paths (`path`, by default `KernelPath.current`) it runs `ck_causal_attention`
    /// (only the causal half of the scores, heads split over both cores); on `generic` two `sgemm` per head and
    /// sequence.
    static func causalAttention(_ qkv: [Float], spans: [Range<Int>], width d: Int, heads: Int, into out: inout [Float], scores: inout [Float],
                                path: KernelPath = .current) {
        let dh = d / heads
        let scale = 1 / Float(dh).squareRoot()
        if path.hasPackedKernels {
            let longest = spans.map(\.count).max() ?? 0
            qkv.withUnsafeBufferPointer { pq in
                out.withUnsafeMutableBufferPointer { po in
                    let call = AttentionCall(path: path.instructionSet, qkv: pq.baseAddress!, out: po.baseAddress!, spans: spans, width: d, headWidth: dh,
                                             heads: heads, scale: scale, longest: longest, parts: min(2, heads))
                    DispatchQueue.concurrentPerform(iterations: call.parts) { call.run(part: $0) }
                }
            }
            return
        }
        qkv.withUnsafeBufferPointer { pq in
            out.withUnsafeMutableBufferPointer { po in
                scores.withUnsafeMutableBufferPointer { ps in
                    let s = ps.baseAddress!
                    for span in spans {
                        let n = span.count
                        for h in 0..<heads {
                            let q = pq.baseAddress! + span.lowerBound * 3 * d + h * dh
                            let k = q + d
                            let v = q + 2 * d
                            // S = scale · Q Kᵀ (n × n)
                            Float.gemm(transposeA: false, transposeB: true, m: n, n: n, k: dh, alpha: scale,
                                       a: q, lda: 3 * d, b: k, ldb: 3 * d, beta: 0, c: s, ldc: n)
                            // Row-wise softmax over j ≤ i; masked entries become 0.
                            for i in 0..<n {
                                let row = s + i * n
                                var m = -Float.infinity
                                for j in 0...i { m = max(m, row[j]) }
                                var sum: Float = 0
                                for j in 0...i { let e = expf(row[j] - m); row[j] = e; sum += e }
                                let inv = 1 / sum
                                for j in 0...i { row[j] *= inv }
                                for j in (i + 1)..<max(i + 1, n) { row[j] = 0 }
                            }
                            // O = P V (n × d_h) into the head's columns.
                            Float.gemm(transposeA: false, transposeB: false, m: n, n: dh, k: n, alpha: 1,
                                       a: s, lda: n, b: v, ldb: 3 * d, beta: 0,
                                       c: po.baseAddress! + span.lowerBound * d + h * dh, ldc: d)
                        }
                    }
                }
            }
        }
    }
}

/// One share of the heads of `ck_causal_attention` over every sequence (shares write disjoint columns of `out`;
/// the pointers stay valid for the call).
private struct AttentionCall: @unchecked Sendable {
    let path: ck_instruction_set
    let qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    let spans: [Range<Int>], width: Int, headWidth: Int, heads: Int, scale: Float, longest: Int, parts: Int

    func run(part: Int) {
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(longest, 1))
        defer { scores.deallocate() }
        for span in spans {
            ck_causal_attention(path, qkv + span.lowerBound * 3 * width, Int32(span.count), Int32(width), Int32(headWidth),
                                Int32(heads * part / parts), Int32(heads * (part + 1) / parts), scale,
                                out + span.lowerBound * width, Int32(width), scores)
        }
    }
}
