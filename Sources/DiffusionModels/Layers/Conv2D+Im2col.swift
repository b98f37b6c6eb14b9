import CKernels
import Foundation

/// 3×3, stride-1 convolutions of small images (the UNet's 8² and 4² levels: 1280–2560 channels over 16–64 pixels)
/// as one product over an im2col matrix: out (C_out × batch·h·w) = W (C_out × 9·C_in, the stored [o][i][ky][kx]
/// layout itself) · cols (9·C_in × batch·h·w), cols[(i·9 + ky·3 + kx)][b·h·w + y·w + x] = x̂_b[i][y+ky][x+kx] for the
/// zero-bordered input x̂.
///
/// There the work is streaming the weights, not multiplying: 15–30 M weights per convolution for a few dozen
/// columns. The tap-major path widens the fp16 weights and then rewrites them tap-major (two passes over 4 bytes per
/// weight), Winograd writes 16/9 of them again transformed; im2col uses the widened weights as they are, and the
/// batch's columns side by side make one pass over them for the whole batch.
extension Conv2D {
    /// Largest image (pixels) that takes this path, and the largest cols matrix (floats, 32 MB).
    static let im2colMaxPixels = 64
    static let im2colBudget = 1 << 23

    /// Whether an h × w output takes this path (not while `CONCEPTS_WINOGRAD` forces a Winograd tile: tests run
    /// Winograd on small images that way).
    /// `CONCEPTS_IM2COL=0` leaves small images to Winograd / the tap-major path (for A/B).
    static var im2colDisabled: Bool { getenv("CONCEPTS_IM2COL").map { String(cString: $0) == "0" } ?? false }

    func usesIm2col(height h: Int, width w: Int, batch: Int) -> Bool {
        Self.forcedTile == nil && !Self.im2colDisabled && h * w <= Self.im2colMaxPixels && 9 * inChannels * h * w * batch <= Self.im2colBudget
    }

    func applyIm2col(_ x: FeatureMap, upsample: Bool, channelBias: UnsafePointer<Float>?, residual: FeatureMap?,
                     into out: FeatureMap, scratch: WeightScratch) {
        let h = out.height, w = out.width, n = h * w, columns = x.batch * n
        let pw = w + 2, plane = (h + 2) * pw
        let padded = scratch.padded(count: inChannels * plane)
        let cols = scratch.wide(count: 9 * inChannels * columns + outChannels * columns)
        let products = cols + 9 * inChannels * columns
        for b in 0..<x.batch {
            if upsample {
                ck_upsample_pad_image(x.sample(b), Int32(inChannels), Int32(x.height), Int32(x.width), padded)
            } else {
                ck_pad_image(x.sample(b), Int32(inChannels), Int32(h), Int32(w), padded)
            }
            Parallel.forEach(inChannels, minimum: 64) { part in
                for i in part {
                    for tap in 0..<9 {
                        let source = padded + i * plane + (tap / 3) * pw + tap % 3
                        let row = cols + (i * 9 + tap) * columns + b * n
                        for y in 0..<h { (row + y * w).update(from: source + y * pw, count: w) }
                    }
                }
            }
        }
        weight.withFloats(scratch) { wp in
            sgemm(m: outChannels, n: columns, k: 9 * inChannels, a: wp, lda: 9 * inChannels, b: cols, ldb: columns,
                  beta: 0, c: products, ldc: columns)
        }
        for b in 0..<x.batch {
            let y = out.sample(b)
            for o in 0..<outChannels {
                let shift = bias[o] + (channelBias?[b * outChannels + o] ?? 0)
                let source = products + o * columns + b * n, target = y + o * n
                if let residual {
                    let r = residual.sample(b) + o * n
                    for p in 0..<n { target[p] = source[p] + shift + r[p] }
                } else {
                    for p in 0..<n { target[p] = source[p] + shift }
                }
            }
        }
    }
}
