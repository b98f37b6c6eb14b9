import CKernels
import Foundation

/// Winograd F(2×2, 3×3) for the 3×3, stride-1 convolutions (Lavin & Gray 2016): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per
/// 2×2 output tile, 16 products per tile instead of 36; summed over the input channels these are 16 `sgemm`s of
/// C_out × C_in × tiles (2.25× fewer multiplications than the direct convolution).
///
/// The weights stay fp16 in memory and are transformed per call, straight from fp16 (`ck_winograd_weights_f16`),
/// shared among the cores. When the work buffers of the whole batch fit `mergedBudget`, the samples' tiles sit
/// side by side in each product (n = batch · tiles): one pass over the transformed weights for the batch instead
/// of one per sample, which is most of the cost at the low-resolution levels (16–256 tiles, up to 2560 channels).
extension Conv2D {
    /// Largest Winograd work buffer (transformed input + products), in floats (256 MB).
    static let winogradBudget = 1 << 26

    /// Largest work buffer for which the batch shares one set of products, in floats (64 MB: no more than a
    /// single 512² sample needs at the UNet's first level, so the peak memory does not grow).
    static let mergedBudget = 1 << 24

    /// `CONCEPTS_WINOGRAD_MERGE=0` runs the products per sample whatever the size (tests compare both ways).
    static var mergingDisabled: Bool { getenv("CONCEPTS_WINOGRAD_MERGE").map { String(cString: $0) == "0" } ?? false }

    func usesWinograd(height h: Int, width w: Int) -> Bool {
        h % 2 == 0 && w % 2 == 0 && (h / 2) * (w / 2) >= 16
            && 16 * max(inChannels, outChannels) * (h / 2) * (w / 2) <= Self.winogradBudget
    }

    /// U = G g Gᵀ for every (output, input) channel pair: [16][C_out][C_in].
    func winogradWeights(_ u: UnsafeMutablePointer<Float>, scratch: WeightScratch) {
        let pairs = outChannels * inChannels
        switch weight.values {
        case .float16(let bytes):
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                let half = base.assumingMemoryBound(to: UInt16.self)
                Parallel.forEach(pairs, minimum: 4096) { part in
                    ck_winograd_weights_f16(half + part.lowerBound * 9, part.count, u + part.lowerBound, pairs)
                }
            }
        case .float32:
            weight.withFloats(scratch) { wp in
                Parallel.forEach(pairs, minimum: 4096) { part in
                    ck_winograd_weights(wp + part.lowerBound * 9, part.count, u + part.lowerBound, pairs)
                }
            }
        }
    }

    func applyWinograd(_ x: FeatureMap, upsample: Bool, channelBias: UnsafePointer<Float>?, residual: FeatureMap?,
                       into out: FeatureMap, scratch: WeightScratch) {
        let h = out.height, w = out.width, n = h * w
        let tiles = (h / 2) * (w / 2), plane = (h + 2) * (w + 2)
        let merged = 16 * (inChannels + outChannels) * tiles * x.batch <= Self.mergedBudget && !Self.mergingDisabled
        let group = merged ? x.batch : 1
        let columns = group * tiles  // the products' n: the tiles of `group` samples side by side
        let u = scratch.transformed(count: 16 * outChannels * inChannels)
        winogradWeights(u, scratch: scratch)
        let padded = scratch.padded(count: inChannels * plane)
        let v = scratch.wide(count: 16 * (inChannels + outChannels) * columns)
        let products = v + 16 * inChannels * columns
        let inputSize = x.height * x.width
        var channelBiases = [Float](repeating: 0, count: outChannels)
        for first in stride(from: 0, to: x.batch, by: group) {
            for g in 0..<group {
                let source = x.sample(first + g)
                Parallel.forEach(inChannels, minimum: 8) { part in
                    let c0 = part.lowerBound, count = Int32(part.count)
                    if upsample {
                        ck_upsample_pad_image(source + c0 * inputSize, count, Int32(x.height), Int32(x.width), padded + c0 * plane)
                    } else {
                        ck_pad_image(source + c0 * inputSize, count, Int32(h), Int32(w), padded + c0 * plane)
                    }
                    ck_winograd_input(padded + c0 * plane, count, Int32(h), Int32(w), v + c0 * columns + g * tiles, columns,
                                      inChannels * columns)
                }
            }
            for k in 0..<16 {
                sgemm(m: outChannels, n: columns, k: inChannels, a: u + k * outChannels * inChannels, lda: inChannels,
                      b: v + k * inChannels * columns, ldb: columns, beta: 0, c: products + k * outChannels * columns, ldc: columns)
            }
            for g in 0..<group {
                let b = first + g
                for c in 0..<outChannels { channelBiases[c] = bias[c] + (channelBias?[b * outChannels + c] ?? 0) }
                let y = out.sample(b)
                channelBiases.withUnsafeBufferPointer { biases in
                    guard let biasBase = biases.baseAddress else { return }
                    Parallel.forEach(outChannels, minimum: 8) { part in
                        let o0 = part.lowerBound
                        ck_winograd_output(products + o0 * columns + g * tiles, Int32(part.count), Int32(h), Int32(w),
                                           biasBase + o0, y + o0 * n, columns, outChannels * columns)
                        if let residual { ck_add(y + o0 * n, residual.sample(b) + o0 * n, part.count * n) }
                    }
                }
            }
        }
    }
}
