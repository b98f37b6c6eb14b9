import CKernels
import Foundation
import Tensors

/// A 2-D convolution as Stable Diffusion uses them: 3×3 with padding 1 at stride 1 or 2, or 1×1.
///
/// 3×3, stride 1: out = Σ_{ky,kx} W_{ky,kx} · shift_{ky,kx}(x̂), nine `sgemm`s with K = C_in over the zero-bordered
/// input x̂ ((H+2) × (W+2) per channel). Shift (ky, kx) of x̂ is x̂ itself read from offset ky·(W+2)+kx, so each
/// product reads the padded image in place (no im2col buffer); the output is computed H × (W+2) wide and its
/// two border columns dropped. The weight is stored tap-major (W_{ky,kx} is C_out × C_in) once at load.
/// 3×3, stride 1 on even-sized images with enough tiles: Winograd F(4×4, 3×3) or F(2×2, 3×3) instead
/// (Conv2D+Winograd.swift).
/// 3×3, stride 2 (the downsampler): im2col then one `sgemm` (the output is a quarter of the input).
struct Conv2D: @unchecked Sendable {
    enum Kind { case pointwise, same3x3, strided3x3 }

    let kind: Kind
    let inChannels: Int
    let outChannels: Int
    let weight: StoredWeights
    let bias: [Float]

    init(_ reader: WeightReader, _ prefix: String, in inChannels: Int, out outChannels: Int, kernel: Int,
         stride: Int = 1) throws {
        self.inChannels = inChannels
        self.outChannels = outChannels
        let stored = try reader.weights(prefix + ".weight", shape: [outChannels, inChannels, kernel, kernel])
        bias = try reader.floats(prefix + ".bias", count: outChannels)
        switch (kernel, stride) {
        case (1, 1):
            kind = .pointwise
            weight = stored
        case (3, 1):
            kind = .same3x3
            weight = stored
        case (3, 2):
            kind = .strided3x3
            weight = stored
        default:
            throw DiffusionModelsError.unsupportedConfiguration(field: prefix, value: "kernel \(kernel), stride \(stride)")
        }
    }

    /// The convolution of `x`; `upsample`: of x scaled ×2 by nearest neighbour first (diffusers' `Upsample2D`);
    /// `channelBias` (batch × C_out) is added to each output channel besides the bias (the time embedding of a
    /// ResNet block); `residual` (same shape as the output) is added to the result.
    func apply(_ x: FeatureMap, upsample: Bool = false, channelBias: UnsafePointer<Float>? = nil,
               residual: FeatureMap? = nil, scratch: WeightScratch) -> FeatureMap {
        let h = upsample ? 2 * x.height : x.height, w = upsample ? 2 * x.width : x.width
        let oh = kind == .strided3x3 ? (h - 1) / 2 + 1 : h
        let ow = kind == .strided3x3 ? (w - 1) / 2 + 1 : w
        let out = FeatureMap(batch: x.batch, channels: outChannels, height: oh, width: ow)
        let n = oh * ow
        if kind == .same3x3, let tile = winogradTile(height: h, width: w) {
            applyWinograd(x, tile: tile, upsample: upsample, channelBias: channelBias, residual: residual, into: out,
                          scratch: scratch)
            return out
        }
        weight.withFloats(scratch) { wp in
            switch kind {
            case .pointwise:
                for b in 0..<x.batch {
                    let y = out.sample(b)
                    prefill(y, columns: n, ld: n, batch: b, channelBias: channelBias, residual: residual)
                    sgemm(m: outChannels, n: n, k: inChannels, a: wp, lda: inChannels, b: x.sample(b), ldb: x.spatial,
                          beta: 1, c: y, ldc: n)
                }
            case .same3x3:
                let taps = scratch.transformed(count: 9 * outChannels * inChannels)
                ck_taps_from_kernel3x3(wp, Int32(outChannels), Int32(inChannels), taps)
                let pw = w + 2, plane = (h + 2) * pw, wide = h * pw
                let padded = scratch.padded(count: inChannels * plane + 8)
                (padded + inChannels * plane).update(repeating: 0, count: 8)  // read past the end by the last tap's border columns
                let wideOut = scratch.wide(count: outChannels * wide)
                for b in 0..<x.batch {
                    if upsample {
                        ck_upsample_pad_image(x.sample(b), Int32(inChannels), Int32(x.height), Int32(x.width), padded)
                    } else {
                        ck_pad_image(x.sample(b), Int32(inChannels), Int32(h), Int32(w), padded)
                    }
                    prefill(wideOut, columns: wide, ld: wide, batch: b, channelBias: channelBias, residual: nil)
                    for tap in 0..<9 {
                        let offset = (tap / 3) * pw + tap % 3
                        sgemm(m: outChannels, n: wide, k: inChannels, a: taps + tap * outChannels * inChannels,
                              lda: inChannels, b: padded + offset, ldb: plane, beta: 1, c: wideOut, ldc: wide)
                    }
                    let y = out.sample(b)
                    for c in 0..<outChannels {
                        for row in 0..<h {
                            (y + c * n + row * w).update(from: wideOut + c * wide + row * pw, count: w)
                        }
                    }
                    if let residual { ck_add(y, residual.sample(b), out.sampleCount) }
                }
            case .strided3x3:
                let plane = (h + 2) * (w + 2)
                let padded = scratch.padded(count: inChannels * plane)
                let columns = scratch.wide(count: inChannels * 9 * n)
                for b in 0..<x.batch {
                    ck_pad_image(x.sample(b), Int32(inChannels), Int32(h), Int32(w), padded)
                    ck_im2col3x3_stride2(padded, Int32(inChannels), Int32(h), Int32(w), columns)
                    let y = out.sample(b)
                    prefill(y, columns: n, ld: n, batch: b, channelBias: channelBias, residual: residual)
                    sgemm(m: outChannels, n: n, k: inChannels * 9, a: wp, lda: inChannels * 9, b: columns,
                          ldb: n, beta: 1, c: y, ldc: n)
                }
            }
        }
        return out
    }

    /// Output rows start as bias (+ channel bias of sample `batch`) (+ the residual).
    private func prefill(_ y: UnsafeMutablePointer<Float>, columns: Int, ld: Int, batch: Int,
                         channelBias: UnsafePointer<Float>?, residual: FeatureMap?) {
        let extra = channelBias.map { $0 + batch * outChannels }
        fillRows(y, rows: outChannels, columns: columns, ldc: ld) { c in bias[c] + (extra?[c] ?? 0) }
        if let residual { ck_add(y, residual.sample(batch), outChannels * columns) }
    }
}
