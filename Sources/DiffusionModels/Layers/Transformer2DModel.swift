import CKernels
import Foundation

/// diffusers' `BasicTransformerBlock` (norm_type "layer_norm", GEGLU feed-forward):
/// x += attn1(LN1(x)); x += attn2(LN2(x), text); x += W₂·GEGLU(W₁·LN3(x)).
struct BasicTransformerBlock: Sendable {
    let norm1: LayerNorm
    var attn1: Attention
    let norm2: LayerNorm
    var attn2: Attention
    let norm3: LayerNorm
    let feedForwardIn: Linear
    let feedForwardOut: Linear
    let dim: Int

    init(_ reader: WeightReader, _ prefix: String, dim: Int, heads: Int, headDim: Int, crossAttentionDim: Int) throws {
        self.dim = dim
        norm1 = try LayerNorm(reader, prefix + ".norm1", dim: dim)
        attn1 = try Attention(reader, prefix + ".attn1", queryDim: dim, contextDim: dim, heads: heads, headDim: headDim, qkvBias: false)
        norm2 = try LayerNorm(reader, prefix + ".norm2", dim: dim)
        attn2 = try Attention(reader, prefix + ".attn2", queryDim: dim, contextDim: crossAttentionDim, heads: heads,
                              headDim: headDim, qkvBias: false)
        norm3 = try LayerNorm(reader, prefix + ".norm3", dim: dim)
        feedForwardIn = try Linear(reader, prefix + ".ff.net.0.proj", in: dim, out: 8 * dim)
        feedForwardOut = try Linear(reader, prefix + ".ff.net.2", in: 4 * dim, out: dim)
    }

    /// `x`: batch × n × dim tokens, updated in place; `text`: batch × m × cross_attention_dim.
    func apply(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int, text: UnsafePointer<Float>, textTokens m: Int,
               scratch: WeightScratch) {
        let normed = FloatBuffer(count: batch * n * dim)
        applySelfAttention(x, batch: batch, tokens: n, normed: normed, scratch: scratch)
        applyCrossAttentionAndFeedForward(x, batch: batch, tokens: n, text: text, textTokens: m, normed: normed, scratch: scratch)
    }

    /// x += attn1(LN1(x)): the part of the block that does not see the text. `normed` holds ≥ batch·n·dim floats
    /// (the layer norm's output; its contents are overwritten).
    func applySelfAttention(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int, normed: FloatBuffer,
                            scratch: WeightScratch) {
        norm1.apply(x, rows: batch * n, into: normed.pointer)
        attn1.apply(normed.pointer, batch: batch, tokens: n, context: nil, contextTokens: n, into: x, accumulate: true, scratch: scratch)
    }

    /// x += attn2(LN2(x), text); x += W₂·GEGLU(W₁·LN3(x)). `normed` as for `applySelfAttention`.
    func applyCrossAttentionAndFeedForward(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int,
                                           text: UnsafePointer<Float>, textTokens m: Int, normed: FloatBuffer,
                                           scratch: WeightScratch) {
        let rows = batch * n
        norm2.apply(x, rows: rows, into: normed.pointer)
        attn2.apply(normed.pointer, batch: batch, tokens: n, context: text, contextTokens: m, into: x, accumulate: true, scratch: scratch)
        norm3.apply(x, rows: rows, into: normed.pointer)
        let hidden = feedForwardIn.apply(normed.pointer, rows: rows, scratch: scratch)
        let gated = FloatBuffer(count: rows * 4 * dim)
        let inner = 4 * dim
        Parallel.forEach(rows, minimum: max(1, 16_384 / inner)) { part in
            ck_geglu(hidden.pointer + part.lowerBound * 2 * inner, Int32(part.count), Int32(inner),
                     gated.pointer + part.lowerBound * inner)
        }
        feedForwardOut.apply(gated.pointer, rows: rows, into: x, accumulate: true, scratch: scratch)
    }
}

/// diffusers' `Transformer2DModel` on continuous input: GroupNorm (eps 10⁻⁶) → proj_in (a 1×1 conv or, with
/// `use_linear_projection`, a linear layer: the same product) → transformer blocks on the H·W tokens → proj_out
/// → + x.
struct Transformer2DModel: Sendable {
    let norm: GroupNorm
    let projIn: Linear
    var blocks: [BasicTransformerBlock]
    let projOut: Linear
    let channels: Int
    let inner: Int

    init(_ reader: WeightReader, _ prefix: String, channels: Int, heads: Int, headDim: Int, layers: Int,
         crossAttentionDim: Int, groups: Int) throws {
        self.channels = channels
        let inner = heads * headDim
        self.inner = inner
        norm = try GroupNorm(reader, prefix + ".norm", groups: groups, channels: channels, eps: 1e-6)
        projIn = try Linear(reader, prefix + ".proj_in", in: channels, out: inner)
        blocks = try (0..<layers).map {
            try BasicTransformerBlock(reader, prefix + ".transformer_blocks.\($0)", dim: inner, heads: heads, headDim: headDim,
                                      crossAttentionDim: crossAttentionDim)
        }
        projOut = try Linear(reader, prefix + ".proj_out", in: inner, out: channels)
    }

    /// The block on `x` (batch × C × H × W). `expandingTo` B (x then holds one sample, shared by B that differ only
    /// in their text): everything before the first cross-attention runs once, on that sample, and its tokens are
    /// copied B times just before it; the result has B samples (see `UNet2DConditionModel.forward`).
    func apply(_ x: FeatureMap, text: UnsafePointer<Float>, textTokens: Int, expandingTo: Int? = nil,
               scratch: WeightScratch) -> FeatureMap {
        let n = x.spatial
        let batch = expandingTo ?? x.batch
        let normed = FloatBuffer(count: x.sampleCount)
        let tokens = FloatBuffer(count: batch * n * inner)
        projIn.weight.withFloats(scratch) { w in
            for b in 0..<x.batch {
                norm.apply(x, sample: b, into: normed.pointer, silu: false)
                let t = tokens.pointer + b * n * inner
                fillColumns(t, rows: n, columns: inner, bias: projIn.bias)
                // tokens (n × inner) = normedᵀ (n × C) · Wᵀ (C × inner)
                sgemm(transposeA: true, transposeB: true, m: n, n: inner, k: channels, a: normed.pointer, lda: n, b: w,
                      ldb: channels, beta: 1, c: t, ldc: inner)
            }
        }
        for (index, block) in blocks.enumerated() {
            if index == 0 && batch != x.batch {
                let normedTokens = FloatBuffer(count: batch * n * inner)
                block.applySelfAttention(tokens.pointer, batch: x.batch, tokens: n, normed: normedTokens, scratch: scratch)
                for b in x.batch..<batch { (tokens.pointer + b * n * inner).update(from: tokens.pointer, count: n * inner) }
                block.applyCrossAttentionAndFeedForward(tokens.pointer, batch: batch, tokens: n, text: text,
                                                        textTokens: textTokens, normed: normedTokens, scratch: scratch)
            } else {
                block.apply(tokens.pointer, batch: batch, tokens: n, text: text, textTokens: textTokens, scratch: scratch)
            }
        }
        let out = FeatureMap(batch: batch, channels: channels, height: x.height, width: x.width)
        projOut.weight.withFloats(scratch) { w in
            for b in 0..<batch {
                let y = out.sample(b)
                fillRows(y, rows: channels, columns: n, ldc: n) { projOut.bias?[$0] ?? 0 }
                ck_add(y, x.sample(batch == x.batch ? b : 0), x.sampleCount)
                // out (C × n) = W (C × inner) · tokensᵀ (inner × n)
                sgemm(transposeB: true, m: channels, n: n, k: inner, a: w, lda: inner, b: tokens.pointer + b * n * inner,
                      ldb: inner, beta: 1, c: y, ldc: n)
            }
        }
        return out
    }
}
