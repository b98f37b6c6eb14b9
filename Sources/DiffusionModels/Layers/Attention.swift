import CKernels
import Foundation

/// diffusers' `Attention` (non-causal, no mask): Q = x·W_qᵀ, K = c·W_kᵀ, V = c·W_vᵀ (c = x for self-attention),
/// per head softmax(Q_h K_hᵀ / √d_h) V_h, then `to_out.0`.
///
/// The scores are formed for blocks of query rows (at most `scoreBudget` floats at a time, so 4096 tokens take
/// 16 MB, not 64 MB per head), each block by two `sgemm`s and a row softmax in between.
struct Attention: @unchecked Sendable {
    let heads: Int
    let headDim: Int
    let queryDim: Int
    let contextDim: Int
    let toQ: Linear
    var toK: Linear
    var toV: Linear
    let toOut: Linear

    static let scoreBudget = 1 << 22

    init(_ reader: WeightReader, _ prefix: String, queryDim: Int, contextDim: Int, heads: Int, headDim: Int,
         qkvBias: Bool) throws {
        self.heads = heads
        self.headDim = headDim
        self.queryDim = queryDim
        self.contextDim = contextDim
        let inner = heads * headDim
        toQ = try Linear(reader, prefix + ".to_q", in: queryDim, out: inner, bias: qkvBias)
        toK = try Linear(reader, prefix + ".to_k", in: contextDim, out: inner, bias: qkvBias)
        toV = try Linear(reader, prefix + ".to_v", in: contextDim, out: inner, bias: qkvBias)
        toOut = try Linear(reader, prefix + ".to_out.0", in: inner, out: queryDim)
    }

    /// `x` is batch × n × queryDim, `context` batch × m × contextDim (nil: self-attention); the result
    /// (batch × n × queryDim) is added to `output` when `accumulate`, else written.
    func apply(_ x: UnsafePointer<Float>, batch: Int, tokens n: Int, context: UnsafePointer<Float>?, contextTokens: Int,
               into output: UnsafeMutablePointer<Float>, accumulate: Bool, scratch: WeightScratch) {
        let inner = heads * headDim
        let m = context == nil ? n : contextTokens
        let source = context ?? x
        let q = toQ.apply(x, rows: batch * n, scratch: scratch)
        let k = toK.apply(source, rows: batch * m, scratch: scratch)
        let v = toV.apply(source, rows: batch * m, scratch: scratch)
        let o = FloatBuffer(count: batch * n * inner)
        let blockRows = max(1, min(n, Self.scoreBudget / max(1, m)))
        let scores = FloatBuffer(count: blockRows * m)
        let scale = 1 / Float(headDim).squareRoot()
        for b in 0..<batch {
            for h in 0..<heads {
                let qh = q.pointer + b * n * inner + h * headDim
                let kh = k.pointer + b * m * inner + h * headDim
                let vh = v.pointer + b * m * inner + h * headDim
                let oh = o.pointer + b * n * inner + h * headDim
                var start = 0
                while start < n {
                    let rows = min(blockRows, n - start)
                    sgemm(transposeB: true, m: rows, n: m, k: headDim, alpha: scale, a: qh + start * inner, lda: inner,
                          b: kh, ldb: inner, beta: 0, c: scores.pointer, ldc: m)
                    ck_softmax_rows(scores.pointer, Int32(rows), Int32(m), m)
                    sgemm(m: rows, n: headDim, k: m, a: scores.pointer, lda: m, b: vh, ldb: inner, beta: 0,
                          c: oh + start * inner, ldc: inner)
                    start += rows
                }
            }
        }
        toOut.apply(o.pointer, rows: batch * n, into: output, accumulate: accumulate, scratch: scratch)
    }
}
