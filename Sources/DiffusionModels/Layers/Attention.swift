import CKernels
import Foundation

/// diffusers' `Attention` (non-causal, no mask): Q = x·W_qᵀ, K = c·W_kᵀ, V = c·W_vᵀ (c = x for self-attention),
/// per head softmax(Q_h K_hᵀ / √d_h) V_h, then `to_out.0`.
///
/// On the AVX-512 and AVX2 paths each head runs in `ck_attention` (fused: the scores of a few query rows at a time
/// stay in cache, never the n × m matrix; see Sources/CKernels/attention_body.h for its blocking), heads × row blocks
/// shared among the cores. On the portable path the
/// scores are formed for blocks of query rows (at most `scoreBudget` floats at a time, so 4096 tokens take 16 MB,
/// not 64 MB per head), each block by two `sgemm`s and a row softmax in between.
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
        let scale = 1 / Float(headDim).squareRoot()
        if ck_instruction_set_in_use() == CK_GENERIC {
            blockedAttention(q: q.pointer, k: k.pointer, v: v.pointer, o: o.pointer, batch: batch, n: n, m: m, scale: scale)
        } else {
            // Work items: (sample, head, block of query rows), at least 4 per core so that they even out; each core
            // takes a contiguous run of them with its own scratch (allocated here: no allocation on the workers), and
            // the items of one (sample, head) in its run — consecutive rows — go to one `ck_attention` call, so that a
            // core packs that head's K and V once (the VAE's one 4096 × 512 head: 16 MB per packing).
            let pairs = batch * heads
            let splits = max(1, min(n / 16, (4 * Parallel.threads + pairs - 1) / pairs))
            let items = pairs * splits, parts = min(Parallel.threads, items)
            let perPart = ck_attention_scratch_count(Int32(m), Int32(headDim))
            let scratchBuffer = FloatBuffer(count: parts * perPart)
            Parallel.forEachPart(items, parts: parts) { part, run in
                let work = scratchBuffer.pointer + part * perPart
                var item = run.lowerBound
                while item < run.upperBound {
                    let pair = item / splits
                    let last = min(run.upperBound, (pair + 1) * splits) - 1  // this pair's last item in the run
                    let b = pair / heads, h = pair % heads
                    let start = n * (item % splits) / splits, end = n * (last % splits + 1) / splits
                    let column = h * headDim
                    ck_attention(q.pointer + (b * n + start) * inner + column, Int32(inner), Int32(end - start),
                                 k.pointer + b * m * inner + column, v.pointer + b * m * inner + column, Int32(inner),
                                 Int32(m), Int32(headDim), scale, o.pointer + (b * n + start) * inner + column, Int32(inner),
                                 work)
                    item = last + 1
                }
            }
            GEMMStatistics.add(4 * batch * heads * n * m * headDim)  // Q·Kᵀ and P·V
        }
        toOut.apply(o.pointer, rows: batch * n, into: output, accumulate: accumulate, scratch: scratch)
    }

    /// The portable path: per head and block of query rows, S = scale·Q Kᵀ (`sgemm`), row softmax, O = S V.
    private func blockedAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                  o: UnsafeMutablePointer<Float>, batch: Int, n: Int, m: Int, scale: Float) {
        let inner = heads * headDim
        let blockRows = max(1, min(n, Self.scoreBudget / max(1, m)))
        let scores = FloatBuffer(count: blockRows * m)
        for b in 0..<batch {
            for h in 0..<heads {
                let qh = q + b * n * inner + h * headDim
                let kh = k + b * m * inner + h * headDim
                let vh = v + b * m * inner + h * headDim
                let oh = o + b * n * inner + h * headDim
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
    }
}
