import Foundation

/// A down block: `DownBlock2D` (resnets only) or `CrossAttnDownBlock2D` (each resnet followed by a
/// `Transformer2DModel`), then a stride-2 3×3 `Downsample2D` except at the last level.
struct UNetDownBlock: Sendable {
    let resnets: [ResnetBlock2D]
    var attentions: [Transformer2DModel]
    let downsampler: Conv2D?

    /// Runs the block, appending each output to `skips` (diffusers' `down_block_res_samples`). `expandingTo` B: `x`
    /// holds one sample standing for B identical ones; the first resnet runs on it alone, and the samples part at
    /// the first cross-attention (or after that resnet, in a block without attention).
    func apply(_ x: FeatureMap, temb: FloatBuffer, text: UnsafePointer<Float>, textTokens: Int, skips: inout [FeatureMap],
               expandingTo: Int? = nil, scratch: WeightScratch) -> FeatureMap {
        var h = x
        for (i, resnet) in resnets.enumerated() {
            h = resnet.apply(h, activatedTimeEmbedding: temb, scratch: scratch)
            let expand = i == 0 ? expandingTo : nil
            if i < attentions.count {
                h = attentions[i].apply(h, text: text, textTokens: textTokens, expandingTo: expand, scratch: scratch)
            } else if let expand {
                h = h.repeatingSample(expand)
            }
            skips.append(h)
        }
        if let downsampler {
            h = downsampler.apply(h, scratch: scratch)
            skips.append(h)
        }
        return h
    }
}

/// An up block: `UpBlock2D` or `CrossAttnUpBlock2D`; each resnet takes `[h, skip]` (channels concatenated, the
/// skip popped from the end), then nearest ×2 + 3×3 conv (`Upsample2D`) except at the last level.
struct UNetUpBlock: Sendable {
    let resnets: [ResnetBlock2D]
    var attentions: [Transformer2DModel]
    let upsampler: Conv2D?

    func apply(_ x: FeatureMap, temb: FloatBuffer, text: UnsafePointer<Float>, textTokens: Int, skips: inout [FeatureMap],
               scratch: WeightScratch) -> FeatureMap {
        var h = x
        for (i, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            h = resnet.apply(h.concatenatingChannels(skip), activatedTimeEmbedding: temb, scratch: scratch)
            if i < attentions.count { h = attentions[i].apply(h, text: text, textTokens: textTokens, scratch: scratch) }
        }
        if let upsampler { h = upsampler.apply(h, upsample: true, scratch: scratch) }
        return h
    }
}

/// `UNetMidBlock2DCrossAttn`: resnet, then (transformer, resnet) pairs.
struct UNetMidBlock: Sendable {
    let resnets: [ResnetBlock2D]
    var attentions: [Transformer2DModel]

    func apply(_ x: FeatureMap, temb: FloatBuffer, text: UnsafePointer<Float>, textTokens: Int, scratch: WeightScratch) -> FeatureMap {
        var h = resnets[0].apply(x, activatedTimeEmbedding: temb, scratch: scratch)
        for (attention, resnet) in zip(attentions, resnets.dropFirst()) {
            h = attention.apply(h, text: text, textTokens: textTokens, scratch: scratch)
            h = resnet.apply(h, activatedTimeEmbedding: temb, scratch: scratch)
        }
        return h
    }
}
