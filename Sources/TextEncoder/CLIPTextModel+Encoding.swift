import Foundation
import Tensors

extension CLIPTextModel {
    /// Encodes a batch of token-id sequences of any lengths (1…`maxPositions`, no padding needed: the model is
    /// causal). All captions' rows are concatenated for the projections (one GEMM per weight per layer);
    /// attention runs per caption.
    ///
    /// - Parameters:
    ///   - layer: which hidden state to return (after the final layer norm).
    ///   - extraEmbeddings: rows for ids `vocabSize, vocabSize + 1, …` (a concept's learned token embeddings),
    ///     used without copying the vocabulary's embedding matrix.
    /// - Returns: one output per sequence, pooled at the first EOS (or the argmax id for `eos_token_id == 2`).
    public func encode(_ batch: [[Int32]], layer: HiddenLayer = .last, extraEmbeddings: Matrix<Float>? = nil) throws -> [CLIPTextOutput] {
        // Large batches run in groups of at most `maxRowsPerPass` rows, bounding the activations' memory
        // (2048 rows × MLP 3072 × 4 B = 25 MB for ViT-L) while keeping the GEMMs large.
        var outputs: [CLIPTextOutput] = []
        outputs.reserveCapacity(batch.count)
        var start = 0
        while start < batch.count {
            var end = start
            var rows = 0
            while end < batch.count, end == start || rows + batch[end].count <= Self.maxRowsPerPass {
                rows += batch[end].count
                end += 1
            }
            do {
                outputs += try encodePass(Array(batch[start..<end]), layer: layer, extraEmbeddings: extraEmbeddings)
            } catch TextEncoderError.tokenOutOfRange(let id, let sequence, let limit) {
                throw TextEncoderError.tokenOutOfRange(id: id, sequence: sequence + start, limit: limit)
            } catch TextEncoderError.tokenNotLoaded(let id, let sequence) {
                throw TextEncoderError.tokenNotLoaded(id: id, sequence: sequence + start)
            } catch TextEncoderError.invalidSequenceLength(let sequence, let length, let maximum) {
                throw TextEncoderError.invalidSequenceLength(sequence: sequence + start, length: length, maximum: maximum)
            }
            start = end
        }
        return outputs
    }

    /// Rows (tokens over all captions) encoded in one pass.
    static let maxRowsPerPass = 2048

    /// One pass over a group of captions whose rows are concatenated.
    func encodePass(_ batch: [[Int32]], layer: HiddenLayer, extraEmbeddings: Matrix<Float>?) throws -> [CLIPTextOutput] {
        let c = configuration
        let d = c.hiddenSize
        if let extra = extraEmbeddings, extra.cols != d { throw TextEncoderError.extraEmbeddingWidth(expected: d, actual: extra.cols) }
        let captured: Int
        switch layer {
        case .last: captured = c.numLayers
        case .penultimate: captured = c.numLayers - 1
        case .layer(let k): captured = k
        }
        guard (0...c.numLayers).contains(captured) else { throw TextEncoderError.invalidLayer(captured, layers: c.numLayers) }
        let limit = c.vocabSize + (extraEmbeddings?.rows ?? 0)
        var spans: [Range<Int>] = []
        var total = 0
        for (s, ids) in batch.enumerated() {
            guard (1...c.maxPositions).contains(ids.count) else {
                throw TextEncoderError.invalidSequenceLength(sequence: s, length: ids.count, maximum: c.maxPositions)
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= limit }) {
                throw TextEncoderError.tokenOutOfRange(id: bad, sequence: s, limit: limit)
            }
            if let missing = ids.first(where: { Int($0) < c.vocabSize && !tokenEmbedding.contains($0) }) {
                throw TextEncoderError.tokenNotLoaded(id: missing, sequence: s)
            }
            spans.append(total..<(total + ids.count))
            total += ids.count
        }
        guard total > 0 else { return [] }

        // x⁰ = E_tok[id] + E_pos[position]
        var x = [Float](repeating: 0, count: total * d)
        let extra = extraEmbeddings?.storage ?? []
        for (s, ids) in batch.enumerated() {
            for (p, id) in ids.enumerated() {
                let row = (spans[s].lowerBound + p) * d
                let i = Int(id)
                x.withUnsafeMutableBufferPointer { out in
                    if i < c.vocabSize { tokenEmbedding.row(id, into: out.baseAddress! + row) }
                    for j in 0..<d { out[row + j] = (i < c.vocabSize ? out[row + j] : extra[(i - c.vocabSize) * d + j]) + positionEmbedding[p * d + j] }
                }
            }
        }
        var capturedState = captured == 0 ? x : []
        var workspace = Workspace(rows: total, longest: spans.map(\.count).max() ?? 0, configuration: c)
        for (index, weights) in layers.enumerated() {
            forward(layer: weights, x: &x, spans: spans, workspace: &workspace)
            if index + 1 == captured, captured < c.numLayers { capturedState = x }
        }
        let last = TransformerKernels.layerNorm(x, rows: total, width: d, weight: finalNormWeight, bias: finalNormBias, eps: c.layerNormEps)
        let hidden = captured == c.numLayers ? last
            : TransformerKernels.layerNorm(capturedState, rows: total, width: d, weight: finalNormWeight, bias: finalNormBias, eps: c.layerNormEps)

        var outputs: [CLIPTextOutput] = []
        let noBias = [Float](repeating: 0, count: textProjection == nil ? 0 : c.projectionDim)
        for (s, ids) in batch.enumerated() {
            let span = spans[s]
            let at = span.lowerBound + Self.poolingIndex(ids, eosTokenID: c.eosTokenID)
            let pooled = Array(last[(at * d)..<((at + 1) * d)])
            var projection: [Float]?
            var embedding: [Float]?
            if let textProjection {
                var projected = [Float](repeating: 0, count: c.projectionDim)
                TransformerKernels.linear(pooled, rows: 1, weight: textProjection, bias: noBias, into: &projected, accumulate: false)
                let norm = Float(projected.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
                projection = projected
                embedding = norm > 0 ? projected.map { $0 / norm } : projected
            }
            outputs.append(CLIPTextOutput(
                hidden: Matrix(rows: span.count, cols: d, storage: Array(hidden[(span.lowerBound * d)..<(span.upperBound * d)])),
                pooled: pooled, projection: projection, embedding: embedding))
        }
        return outputs
    }

    /// transformers' pooling position: for legacy configs (`eos_token_id == 2`) the argmax of the ids (first
    /// maximum), else the first position whose id is `eos_token_id` (0 if none, as `argmax` of all-false).
    public static func poolingIndex(_ ids: [Int32], eosTokenID: Int) -> Int {
        if eosTokenID == 2 {
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }
            return best
        }
        return ids.firstIndex(of: Int32(truncatingIfNeeded: eosTokenID)) ?? 0
    }

    /// The buffers of one pass, reused by every layer (allocating them per layer costs page faults).
    struct Workspace {
        var normed: [Float], qkv: [Float], attended: [Float], mid: [Float], scores: [Float]
        init(rows: Int, longest: Int, configuration c: CLIPTextConfiguration) {
            normed = [Float](repeating: 0, count: rows * c.hiddenSize)
            qkv = [Float](repeating: 0, count: rows * 3 * c.hiddenSize)
            attended = [Float](repeating: 0, count: rows * c.hiddenSize)
            mid = [Float](repeating: 0, count: rows * c.intermediateSize)
            scores = [Float](repeating: 0, count: longest * longest)
        }
    }

    /// One pre-LN encoder layer in place over all rows.
    func forward(layer w: Layer, x: inout [Float], spans: [Range<Int>], workspace s: inout Workspace) {
        let c = configuration
        let d = c.hiddenSize
        let rows = spans.last?.upperBound ?? 0
        TransformerKernels.layerNorm(x, rows: rows, width: d, weight: w.norm1Weight, bias: w.norm1Bias, eps: c.layerNormEps, into: &s.normed)
        TransformerKernels.linear(s.normed, rows: rows, weight: w.qkvWeight, bias: w.qkvBias, into: &s.qkv, accumulate: false)
        TransformerKernels.causalAttention(s.qkv, spans: spans, width: d, heads: c.numHeads, into: &s.attended, scores: &s.scores)
        TransformerKernels.linear(s.attended, rows: rows, weight: w.outWeight, bias: w.outBias, into: &x, accumulate: true)
        TransformerKernels.layerNorm(x, rows: rows, width: d, weight: w.norm2Weight, bias: w.norm2Bias, eps: c.layerNormEps, into: &s.normed)
        TransformerKernels.linear(s.normed, rows: rows, weight: w.fc1Weight, bias: w.fc1Bias, into: &s.mid, accumulate: false)
        TransformerKernels.activate(&s.mid, c.activation)
        TransformerKernels.linear(s.mid, rows: rows, weight: w.fc2Weight, bias: w.fc2Bias, into: &x, accumulate: true)
    }
}
