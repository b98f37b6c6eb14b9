import CKernels
import Foundation
import Tensors

/// Winograd convolution for the 3×3, stride-1 layers (Lavin & Gray 2016): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per m×m
/// output tile, (m+2)² products per tile summed over the input channels as (m+2)² `sgemm`s of C_out × C_in × tiles.
/// F(4×4, 3×3) (36 products per 16 outputs, 4× fewer multiplications than direct; matrices in winograd4_body.h)
/// where the image is a multiple of 4 with enough tiles, else F(2×2, 3×3) (16 per 4 outputs, 2.25×; diffusion_body.h).
///
/// The weights stay fp16 in memory and are transformed per call, straight from fp16. When the transformed input of
/// the whole batch fits `mergedBudget`, the samples' tiles sit side by side in each product (n = batch · tiles): one
/// pass over the transformed weights for the batch instead of one per sample, which is most of the cost at the
/// low-resolution levels (up to 2560 channels). The output channels are shared among the cores, each working through
/// its share in blocks whose transformed weights U and products M fit `blockBudget` / cores: per block, U = G g Gᵀ,
/// the products (single-threaded `cblas_sgemm`s, unsplit) and Y = Aᵀ M A + bias (+ residual), with no barrier between
/// the cores and at most `blockBudget` floats of weights and products whatever the layer.
extension Conv2D {
    /// The tile of a Winograd convolution: F(2×2, 3×3) or F(4×4, 3×3).
    enum WinogradTile: Int, Sendable {
        case f2 = 2, f4 = 4

        /// Output tile side m.
        var size: Int { rawValue }
        /// Products per tile, (m + 2)².
        var positions: Int { (rawValue + 2) * (rawValue + 2) }
    }

    /// Largest transformed input (Winograd V) of one call, in floats (256 MB); larger layers run direct.
    static let winogradBudget = 1 << 26

    /// Largest transformed input for which the batch shares one set of products, in floats (64 MB).
    static let mergedBudget = 1 << 24

    /// Transformed weights + products of the blocks in flight (all cores), in floats (64 MB;
    /// `CONCEPTS_WINOGRAD_BLOCK_FLOATS=N` lowers it, so that tests see several blocks on small layers).
    static var blockBudget: Int {
        getenv("CONCEPTS_WINOGRAD_BLOCK_FLOATS").flatMap { Int(String(cString: $0)) }.map { min($0, 1 << 24) } ?? 1 << 24
    }

    /// Fewest 4×4 tiles per sample for F(4×4, 3×3): below, the weight transform (36 floats per channel pair, per
    /// call) and the thin products outweigh the saved multiplications and F(2×2, 3×3) runs. Measured on a 512² SD
    /// step (CPU seconds of the 3×3 convolutions per level, F4 / F2, AVX-512): 64² 0.94 / 2.01, 32² 1.05 / 1.56,
    /// 16² 1.21 / 1.31, 8² (4 tiles) 1.06 / 0.70. On the AVX2 path the fp16 weight transform costs 2.5× more
    /// (8-lane gathers), and the 16² level (16 tiles) is cheaper in F(2×2): whole 512² step 12.22–12.35 CPU s
    /// against 12.40–12.58 with F(4×4) there (AVX-512: 11.75–11.80 with F(4×4) against 12.05 with F(2×2)).
    static var f4MinimumTiles: Int { ck_instruction_set_in_use() == CK_AVX512 ? 16 : 64 }

    /// Fewest 2×2 tiles per sample for F(2×2, 3×3); below, the direct convolution. From 4 (SD's 4² latents of a 256²
    /// image, 1280 channels): there the direct path's fp16 widening and tap reordering of the whole weight cost more
    /// than the transform into cache-sized blocks (0.81 → 0.27 CPU s per 256² step for that level).
    static let f2MinimumTiles = 4

    /// `CONCEPTS_WINOGRAD_MERGE=0` runs the products per sample whatever the size (tests compare both ways).
    static var mergingDisabled: Bool { getenv("CONCEPTS_WINOGRAD_MERGE").map { String(cString: $0) == "0" } ?? false }

    /// `CONCEPTS_WINOGRAD=2` forces F(2×2, 3×3) everywhere; `4` takes F(4×4, 3×3) wherever the image is a multiple
    /// of 4 (from one tile on: tests run it on tiny images); unset: chosen by size. Read per call (tests switch it).
    static var forcedTile: WinogradTile? {
        guard let value = getenv("CONCEPTS_WINOGRAD") else { return nil }
        return WinogradTile(rawValue: Int(String(cString: value)) ?? 0)
    }

    /// The Winograd tile for an h × w output, or nil for the direct convolution.
    func winogradTile(height h: Int, width w: Int) -> WinogradTile? {
        let forced = Self.forcedTile
        let tiles4 = (h / 4) * (w / 4)
        if forced != .f2, h % 4 == 0, w % 4 == 0, tiles4 >= (forced == .f4 ? 1 : Self.f4MinimumTiles),
           36 * inChannels * tiles4 <= Self.winogradBudget {
            return .f4
        }
        let tiles2 = (h / 2) * (w / 2)
        if h % 2 == 0, w % 2 == 0, tiles2 >= Self.f2MinimumTiles, 16 * inChannels * tiles2 <= Self.winogradBudget {
            return .f2
        }
        return nil
    }

    /// U = G g Gᵀ of output channels `outputs` (all input channels): [positions][outputs.count][C_in].
    func winogradWeights(_ tile: WinogradTile, outputs: Range<Int>, into u: UnsafeMutablePointer<Float>,
                         floats: UnsafePointer<Float>?) {
        let first = outputs.lowerBound * inChannels, pairs = outputs.count * inChannels
        if let floats {
            let w = floats + first * 9
            if tile == .f4 { ck_winograd4_weights(w, pairs, u, pairs) } else { ck_winograd_weights(w, pairs, u, pairs) }
        } else if case .float16(let bytes) = weight.values {
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                let w = base.assumingMemoryBound(to: UInt16.self) + first * 9
                if tile == .f4 { ck_winograd4_weights_f16(w, pairs, u, pairs) } else { ck_winograd_weights_f16(w, pairs, u, pairs) }
            }
        }
    }

    /// Calls `body` with Float32 weights in place, or nil for fp16 ones (transformed straight from fp16).
    private func withFloat32Weights<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        if case .float32(let values) = weight.values {
            return values.withUnsafeBufferPointer { body($0.baseAddress) }
        }
        return body(nil)
    }

    func applyWinograd(_ x: FeatureMap, tile: WinogradTile, upsample: Bool, channelBias: UnsafePointer<Float>?,
                       residual: FeatureMap?, into out: FeatureMap, scratch: WeightScratch) {
        let h = out.height, w = out.width, n = h * w, size = tile.size, positions = tile.positions
        let tiles = (h / size) * (w / size), plane = (h + 2) * (w + 2)
        let merged = positions * inChannels * tiles * x.batch <= Self.mergedBudget && !Self.mergingDisabled
        let group = merged ? x.batch : 1
        let columns = group * tiles  // the products' n: the tiles of `group` samples side by side
        // Each core's share of the output channels, in blocks of U + M within its part of the budget; blocks of 16
        // channels where the weights outweigh the input ≥ 16× (C_out ≥ 16 · columns: SD's 16² and 8² levels), so
        // that a block's U (≤ 3 MB) is still in cache when OpenBLAS packs it (a 512² step's 16² and 8² levels:
        // 1.19 → 0.92–1.08 and 0.69 → 0.52–0.56 CPU s against blocks of 160; larger levels lose with small blocks,
        // re-reading the transformed input V per block).
        let parts = max(1, min(Parallel.threads, outChannels / 16))
        let share = (outChannels + parts - 1) / parts
        let perChannel = positions * (inChannels + columns)
        let fit = outChannels >= 16 * columns ? 16 : max(16, Self.blockBudget / parts / perChannel / 16 * 16)
        let blocks = (share + fit - 1) / fit
        let block = min(share, ((share + blocks - 1) / blocks + 15) / 16 * 16)
        let work = scratch.transformed(count: parts * block * perChannel)
        let padded = scratch.padded(count: inChannels * plane)
        let v = scratch.wide(count: positions * inChannels * columns)
        let inputSize = x.height * x.width
        var biases = [Float](repeating: 0, count: x.batch * outChannels)
        for b in 0..<x.batch {
            for c in 0..<outChannels { biases[b * outChannels + c] = bias[c] + (channelBias?[b * outChannels + c] ?? 0) }
        }
        BLASRuntime.threads(forFlops: 0)  // the cores' products run single-threaded side by side
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
                    let target = v + c0 * columns + g * tiles
                    if tile == .f4 {
                        ck_winograd4_input(padded + c0 * plane, count, Int32(h), Int32(w), target, columns, inChannels * columns)
                    } else {
                        ck_winograd_input(padded + c0 * plane, count, Int32(h), Int32(w), target, columns, inChannels * columns)
                    }
                }
            }
            // A share in one block keeps its U from the first group of samples to the next.
            let transformEachTime = first == 0 || block < share
            biases.withUnsafeBufferPointer { biasBuffer in
                withFloat32Weights { floatWeights in
                    guard let biasBase = biasBuffer.baseAddress else { return }
                    Parallel.forEachPart(outChannels, parts: parts) { part, range in
                        let u = work + part * block * perChannel
                        for o0 in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                            let outputs = o0..<min(o0 + block, range.upperBound), ob = outputs.count
                            let products = u + positions * ob * inChannels
                            if transformEachTime {
                                winogradWeights(tile, outputs: outputs, into: u, floats: floatWeights)
                            }
                            for k in 0..<positions {
                                singleThreadedSgemm(m: ob, n: columns, k: inChannels, a: u + k * ob * inChannels, lda: inChannels,
                                                    b: v + k * inChannels * columns, ldb: columns,
                                                    c: products + k * ob * columns, ldc: columns)
                            }
                            for g in 0..<group {
                                let b = first + g
                                let y = out.sample(b) + o0 * n, bias = biasBase + b * outChannels + o0
                                let skip = residual.map { UnsafePointer($0.sample(b) + o0 * n) }
                                if tile == .f4 {
                                    ck_winograd4_output(products + g * tiles, Int32(ob), Int32(h), Int32(w), bias, skip, y,
                                                        columns, ob * columns)
                                } else {
                                    ck_winograd_output(products + g * tiles, Int32(ob), Int32(h), Int32(w), bias, y, columns,
                                                       ob * columns)
                                    if let skip { ck_add(y, skip, ob * n) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
