import CKernels
import Foundation

/// The decoder half of diffusers' `AutoencoderKL` (what a pipeline runs after sampling):
/// z = latents / scaling_factor (+ shift_factor); post_quant_conv (1×1); conv_in; mid block (resnet, single-head
/// attention over the H·W positions with its own GroupNorm and a residual, resnet); up blocks of
/// `layers_per_block + 1` resnets, each but the last followed by nearest ×2 + conv; GroupNorm, SiLU, conv_out.
/// All GroupNorms use 10⁻⁶ as eps; there is no time embedding.
public final class AutoencoderKLDecoder: @unchecked Sendable {
    public let configuration: VAEConfiguration
    let postQuantConv: Conv2D?
    let convIn: Conv2D
    let midResnets: [ResnetBlock2D]
    let midAttentionNorm: GroupNorm?
    let midAttention: Attention?
    let upBlocks: [(resnets: [ResnetBlock2D], upsampler: Conv2D?)]
    let normOut: GroupNorm
    let convOut: Conv2D
    let scratch = WeightScratch()
    let lock = NSLock()

    public init(configuration: VAEConfiguration, weights: some WeightSource) throws {
        try configuration.validate()
        self.configuration = configuration
        let reader = WeightReader(weights)
        let config = configuration
        let groups = config.normNumGroups
        let eps: Float = 1e-6
        let channels = config.blockOutChannels
        let top = channels[channels.count - 1]
        postQuantConv = config.usePostQuantConv
            ? try Conv2D(reader, "post_quant_conv", in: config.latentChannels, out: config.latentChannels, kernel: 1) : nil
        convIn = try Conv2D(reader, "decoder.conv_in", in: config.latentChannels, out: top, kernel: 3)
        midResnets = try (0..<2).map {
            try ResnetBlock2D(reader, "decoder.mid_block.resnets.\($0)", in: top, out: top, temb: nil, groups: groups, eps: eps)
        }
        if config.midBlockAddAttention {
            midAttentionNorm = try GroupNorm(reader, "decoder.mid_block.attentions.0.group_norm", groups: groups, channels: top, eps: eps)
            midAttention = try Attention(reader, "decoder.mid_block.attentions.0", queryDim: top, contextDim: top, heads: 1,
                                         headDim: top, qkvBias: true)
        } else {
            midAttentionNorm = nil
            midAttention = nil
        }
        var blocks: [(resnets: [ResnetBlock2D], upsampler: Conv2D?)] = []
        let reversed = Array(channels.reversed())
        var output = reversed[0]
        for i in reversed.indices {
            let previous = output
            output = reversed[i]
            let resnets = try (0...config.layersPerBlock).map { j in
                try ResnetBlock2D(reader, "decoder.up_blocks.\(i).resnets.\(j)", in: j == 0 ? previous : output, out: output,
                                  temb: nil, groups: groups, eps: eps)
            }
            let upsampler = i == reversed.count - 1
                ? nil : try Conv2D(reader, "decoder.up_blocks.\(i).upsamplers.0.conv", in: output, out: output, kernel: 3)
            blocks.append((resnets, upsampler))
        }
        upBlocks = blocks
        normOut = try GroupNorm(reader, "decoder.conv_norm_out", groups: groups, channels: channels[0], eps: eps)
        convOut = try Conv2D(reader, "decoder.conv_out", in: channels[0], out: config.outChannels, kernel: 3)
    }

    /// Upsampling factor from latents to pixels (8 for SD).
    public var scaleFactor: Int { 1 << (configuration.blockOutChannels.count - 1) }

    /// The decoded image, NCHW Float32 [batch, out_channels, 8h, 8w] in about [−1, 1], from latents NCHW
    /// [batch, latent_channels, h, w] not yet divided by scaling_factor (this divides, as the pipelines do).
    public func decode(latents: [Float], batch: Int, height: Int, width: Int) throws -> [Float] {
        let config = configuration
        guard batch > 0, height > 0, width > 0, latents.count == batch * config.latentChannels * height * width else {
            throw DiffusionModelsError.invalidInput(
                name: "latents", reason: "\(latents.count) values for [\(batch), \(config.latentChannels), \(height), \(width)]")
        }
        lock.lock()
        defer { lock.unlock() }
        let scaling = Float(config.scalingFactor), shift = Float(config.shiftFactor ?? 0)
        // One sample at a time: a 512² decode holds ~1 GB of activations per sample.
        var image: [Float] = []
        let perSample = config.latentChannels * height * width
        for b in 0..<batch {
            let z = FeatureMap(batch: 1, channels: config.latentChannels, height: height, width: width)
            for i in 0..<perSample { z.buffer.pointer[i] = latents[b * perSample + i] / scaling + shift }
            image += forward(z).buffer.array
        }
        return image
    }

    /// `decode`, then diffusers' postprocess to 8-bit RGB: ((x / 2 + 0.5).clamp(0, 1) · 255).round(), laid out
    /// [batch][H][W][3] (out_channels must be 3).
    public func decodeToRGB8(latents: [Float], batch: Int, height: Int, width: Int) throws -> [UInt8] {
        guard configuration.outChannels == 3 else {
            throw DiffusionModelsError.unsupportedConfiguration(field: "out_channels", value: "\(configuration.outChannels) (RGB needs 3)")
        }
        let image = try decode(latents: latents, batch: batch, height: height, width: width)
        let h = height * scaleFactor, w = width * scaleFactor, plane = h * w
        var rgb = [UInt8](repeating: 0, count: batch * plane * 3)
        for b in 0..<batch {
            for c in 0..<3 {
                for p in 0..<plane {
                    let x = image[(b * 3 + c) * plane + p]
                    let v = min(max(x / 2 + 0.5, 0), 1) * 255
                    // numpy's round: half to even (NaN becomes 0, as uint8 casts do in practice)
                    rgb[(b * plane + p) * 3 + c] = v.isNaN ? 0 : UInt8(v.rounded(.toNearestOrEven))
                }
            }
        }
        return rgb
    }

    func forward(_ latents: FeatureMap) -> FeatureMap {
        var h = latents
        if let postQuantConv { h = postQuantConv.apply(h, scratch: scratch) }
        h = convIn.apply(h, scratch: scratch)
        h = midResnets[0].apply(h, activatedTimeEmbedding: nil, scratch: scratch)
        if let midAttention, let midAttentionNorm { h = attend(h, midAttention, midAttentionNorm) }
        h = midResnets[1].apply(h, activatedTimeEmbedding: nil, scratch: scratch)
        for block in upBlocks {
            for resnet in block.resnets { h = resnet.apply(h, activatedTimeEmbedding: nil, scratch: scratch) }
            if let upsampler = block.upsampler { h = upsampler.apply(h, upsample: true, scratch: scratch) }
        }
        return convOut.apply(normOut.apply(h, silu: true), scratch: scratch)
    }

    /// x + to_out(attention(GroupNorm(x) as H·W tokens)), the mid block's `Attention` with `group_norm`.
    private func attend(_ x: FeatureMap, _ attention: Attention, _ norm: GroupNorm) -> FeatureMap {
        let n = x.spatial, c = x.channels
        let normed = FloatBuffer(count: x.sampleCount)
        let tokens = FloatBuffer(count: x.batch * n * c)
        for b in 0..<x.batch {
            norm.apply(x, sample: b, into: normed.pointer, silu: false)
            transpose(normed.pointer, rows: c, columns: n, into: tokens.pointer + b * n * c)
        }
        let attended = FloatBuffer(count: x.batch * n * c)
        attention.apply(tokens.pointer, batch: x.batch, tokens: n, context: nil, contextTokens: n, into: attended.pointer,
                        accumulate: false, scratch: scratch)
        let out = FeatureMap(batch: x.batch, channels: c, height: x.height, width: x.width)
        for b in 0..<x.batch {
            transpose(attended.pointer + b * n * c, rows: n, columns: c, into: out.sample(b))
            ck_add(out.sample(b), x.sample(b), x.sampleCount)
        }
        return out
    }

    private func transpose(_ a: UnsafePointer<Float>, rows: Int, columns: Int, into b: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { for col in 0..<columns { b[col * rows + r] = a[r * columns + col] } }
    }
}
