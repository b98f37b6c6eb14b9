import CKernels
import Foundation

/// diffusers' `ResnetBlock2D` (time_embedding_norm "default", output_scale_factor 1):
/// h = conv1(SiLU(GN1(x))) + time_emb_proj(SiLU(temb)); h = conv2(SiLU(GN2(h))); out = shortcut(x) + h,
/// shortcut = 1×1 `conv_shortcut` when the channel count changes, else x.
struct ResnetBlock2D: Sendable {
    let norm1: GroupNorm
    let conv1: Conv2D
    let timeProjection: Linear?
    let norm2: GroupNorm
    let conv2: Conv2D
    let shortcut: Conv2D?

    init(_ reader: WeightReader, _ prefix: String, in inChannels: Int, out outChannels: Int, temb: Int?, groups: Int,
         eps: Float) throws {
        norm1 = try GroupNorm(reader, prefix + ".norm1", groups: groups, channels: inChannels, eps: eps)
        conv1 = try Conv2D(reader, prefix + ".conv1", in: inChannels, out: outChannels, kernel: 3)
        timeProjection = try temb.map { try Linear(reader, prefix + ".time_emb_proj", in: $0, out: outChannels) }
        norm2 = try GroupNorm(reader, prefix + ".norm2", groups: groups, channels: outChannels, eps: eps)
        conv2 = try Conv2D(reader, prefix + ".conv2", in: outChannels, out: outChannels, kernel: 3)
        shortcut = inChannels == outChannels
            ? nil : try Conv2D(reader, prefix + ".conv_shortcut", in: inChannels, out: outChannels, kernel: 1)
    }

    /// `timeEmbedding`: SiLU(temb), batch × temb channels (already activated: every block shares it).
    func apply(_ x: FeatureMap, activatedTimeEmbedding: FloatBuffer?, scratch: WeightScratch) -> FeatureMap {
        var projected: FloatBuffer?
        if let timeProjection, let activatedTimeEmbedding {
            projected = timeProjection.apply(activatedTimeEmbedding.pointer, rows: x.batch, scratch: scratch)
        }
        var h = norm1.apply(x, silu: true)
        h = conv1.apply(h, channelBias: projected.map { UnsafePointer($0.pointer) }, scratch: scratch)
        let hn = norm2.apply(h, silu: true)
        let skip = shortcut.map { $0.apply(x, scratch: scratch) } ?? x
        return withExtendedLifetime(projected) { conv2.apply(hn, residual: skip, scratch: scratch) }
    }
}
