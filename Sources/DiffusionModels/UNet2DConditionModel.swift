import CKernels
import Foundation

/// diffusers' `UNet2DConditionModel` for the SD 1.x / 2.x family, on OpenBLAS and our kernels, Float32
/// activations; fp16 weights stay fp16 in memory.
///
/// Forward pass (diffusers' order): temb = linear_2(SiLU(linear_1(sinusoidal(t)))); h = conv_in(x); down blocks
/// (collecting skips); mid block; up blocks (consuming skips); out = conv_out(SiLU(GroupNorm(h))).
public final class UNet2DConditionModel: @unchecked Sendable {
    public let configuration: UNetConfiguration
    let timeLinear1: Linear
    let timeLinear2: Linear
    let convIn: Conv2D
    var downBlocks: [UNetDownBlock]
    var midBlock: UNetMidBlock
    var upBlocks: [UNetUpBlock]
    let normOut: GroupNorm
    let convOut: Conv2D
    let scratch = WeightScratch()
    let lock = NSLock()

    public init(configuration: UNetConfiguration, weights: some WeightSource) throws {
        try configuration.validate()
        self.configuration = configuration
        let reader = WeightReader(weights)
        let config = configuration
        let channels = config.blockOutChannels
        let levels = channels.count
        let groups = config.normNumGroups
        let eps = Float(config.normEps)
        let heads = try config.heads()
        let layers = try config.layersPerBlock.values(count: levels, field: "layers_per_block")
        let transformerLayers = try config.transformerLayersPerBlock.values(count: levels, field: "transformer_layers_per_block")
        let tembDim = channels[0] * 4
        timeLinear1 = try Linear(reader, "time_embedding.linear_1", in: channels[0], out: tembDim)
        timeLinear2 = try Linear(reader, "time_embedding.linear_2", in: tembDim, out: tembDim)
        convIn = try Conv2D(reader, "conv_in", in: config.inChannels, out: channels[0], kernel: 3)

        func transformer(_ prefix: String, _ c: Int, level: Int, layers: Int) throws -> Transformer2DModel {
            try Transformer2DModel(reader, prefix, channels: c, heads: heads[level], headDim: c / heads[level], layers: layers,
                                   crossAttentionDim: config.crossAttentionDim, groups: groups)
        }

        var down: [UNetDownBlock] = []
        var output = channels[0]
        for (i, type) in config.downBlockTypes.enumerated() {
            let input = output
            output = channels[i]
            let prefix = "down_blocks.\(i)"
            let resnets = try (0..<layers[i]).map { j in
                try ResnetBlock2D(reader, "\(prefix).resnets.\(j)", in: j == 0 ? input : output, out: output, temb: tembDim,
                                  groups: groups, eps: eps)
            }
            let attentions = type == .crossAttnDownBlock2D
                ? try (0..<layers[i]).map { j in try transformer("\(prefix).attentions.\(j)", output, level: i, layers: transformerLayers[i]) }
                : []
            let downsampler = i == levels - 1
                ? nil : try Conv2D(reader, "\(prefix).downsamplers.0.conv", in: output, out: output, kernel: 3, stride: 2)
            down.append(UNetDownBlock(resnets: resnets, attentions: attentions, downsampler: downsampler))
        }
        downBlocks = down

        let top = channels[levels - 1]
        midBlock = UNetMidBlock(
            resnets: try (0..<2).map { try ResnetBlock2D(reader, "mid_block.resnets.\($0)", in: top, out: top, temb: tembDim, groups: groups, eps: eps) },
            attentions: [try transformer("mid_block.attentions.0", top, level: levels - 1, layers: transformerLayers[levels - 1])])

        var up: [UNetUpBlock] = []
        let reversed = Array(channels.reversed())
        let reversedLayers = Array(layers.reversed()), reversedTransformerLayers = Array(transformerLayers.reversed())
        output = reversed[0]
        for (i, type) in config.upBlockTypes.enumerated() {
            let previous = output
            output = reversed[i]
            let input = reversed[min(i + 1, levels - 1)]
            let count = reversedLayers[i] + 1
            let prefix = "up_blocks.\(i)"
            let resnets = try (0..<count).map { j in
                let skip = j == count - 1 ? input : output
                let resnetIn = j == 0 ? previous : output
                return try ResnetBlock2D(reader, "\(prefix).resnets.\(j)", in: resnetIn + skip, out: output, temb: tembDim,
                                         groups: groups, eps: eps)
            }
            let attentions = type == .crossAttnUpBlock2D
                ? try (0..<count).map { j in
                    try transformer("\(prefix).attentions.\(j)", output, level: levels - 1 - i, layers: reversedTransformerLayers[i])
                }
                : []
            let upsampler = i == levels - 1
                ? nil : try Conv2D(reader, "\(prefix).upsamplers.0.conv", in: output, out: output, kernel: 3)
            up.append(UNetUpBlock(resnets: resnets, attentions: attentions, upsampler: upsampler))
        }
        upBlocks = up
        normOut = try GroupNorm(reader, "conv_norm_out", groups: groups, channels: channels[0], eps: eps)
        convOut = try Conv2D(reader, "conv_out", in: channels[0], out: config.outChannels, kernel: 3)
    }

    /// ε (or v) prediction. latents: NCHW Float32 [batch, in_channels, height, width]; encoderHiddenStates:
    /// [batch, sequenceLength, cross_attention_dim]. The timestep is used as Float32, as diffusers does.
    public func predict(latents: [Float], batch: Int, height: Int, width: Int, timestep: Double,
                        encoderHiddenStates: [Float], sequenceLength: Int) throws -> [Float] {
        let config = configuration
        guard batch > 0, height > 0, width > 0 else {
            throw DiffusionModelsError.invalidInput(name: "latents", reason: "batch \(batch), size \(height)×\(width)")
        }
        guard latents.count == batch * config.inChannels * height * width else {
            throw DiffusionModelsError.invalidInput(
                name: "latents", reason: "\(latents.count) values for [\(batch), \(config.inChannels), \(height), \(width)]")
        }
        guard sequenceLength > 0, encoderHiddenStates.count == batch * sequenceLength * config.crossAttentionDim else {
            throw DiffusionModelsError.invalidInput(
                name: "encoderHiddenStates",
                reason: "\(encoderHiddenStates.count) values for [\(batch), \(sequenceLength), \(config.crossAttentionDim)]")
        }
        guard timestep.isFinite else { throw DiffusionModelsError.invalidInput(name: "timestep", reason: "\(timestep)") }
        // The up path needs every level's size to halve exactly (diffusers would pass explicit upsample sizes).
        let factor = 1 << (config.blockOutChannels.count - 1)
        guard height % factor == 0, width % factor == 0 else {
            throw DiffusionModelsError.invalidInput(name: "latents", reason: "height and width must be multiples of \(factor), got \(height)×\(width)")
        }
        lock.lock()
        defer { lock.unlock() }
        return forward(FeatureMap(buffer: FloatBuffer(copying: latents), batch: batch, channels: config.inChannels,
                                  height: height, width: width),
                       timestep: timestep, text: FloatBuffer(copying: encoderHiddenStates), textTokens: sequenceLength).buffer.array
    }

    /// `CONCEPTS_SHARED_PREFIX=0` runs identical samples separately all the way (for A/B and tests).
    static var sharesGuidancePrefix: Bool { getenv("CONCEPTS_SHARED_PREFIX").map { String(cString: $0) != "0" } ?? true }

    func forward(_ x: FeatureMap, timestep: Double, text: FloatBuffer, textTokens: Int) -> FeatureMap {
        let config = configuration
        let sinusoid = TimestepEmbedding.sinusoidal(timestep: timestep, dim: config.blockOutChannels[0],
                                                    flipSinToCos: config.flipSinToCos, freqShift: config.freqShift)
        let rows = FloatBuffer(count: x.batch * sinusoid.count)
        for b in 0..<x.batch { (rows.pointer + b * sinusoid.count).update(from: sinusoid, count: sinusoid.count) }
        let hidden = timeLinear1.apply(rows.pointer, rows: x.batch, scratch: scratch)
        ck_silu(hidden.pointer, hidden.pointer, hidden.count)
        let temb = timeLinear2.apply(hidden.pointer, rows: x.batch, scratch: scratch)
        // Every ResNet block applies SiLU to temb before its projection: once here.
        ck_silu(temb.pointer, temb.pointer, temb.count)

        // Classifier-free guidance runs the same latents twice (unconditional and text): until the first
        // cross-attention every layer computes the same values for both, so they run once, on one sample.
        let shared = Self.sharesGuidancePrefix && x.batch > 1 && x.samplesIdentical && !downBlocks.isEmpty
        let first = shared ? FeatureMap(buffer: x.buffer, batch: 1, channels: x.channels, height: x.height, width: x.width) : x
        var h = convIn.apply(first, scratch: scratch)
        var skips = [shared ? h.repeatingSample(x.batch) : h]
        for (index, block) in downBlocks.enumerated() {
            h = block.apply(h, temb: temb, text: text.pointer, textTokens: textTokens, skips: &skips,
                            expandingTo: shared && index == 0 ? x.batch : nil, scratch: scratch)
        }
        h = midBlock.apply(h, temb: temb, text: text.pointer, textTokens: textTokens, scratch: scratch)
        for block in upBlocks {
            h = block.apply(h, temb: temb, text: text.pointer, textTokens: textTokens, skips: &skips, scratch: scratch)
        }
        return convOut.apply(normOut.apply(h, silu: true), scratch: scratch)
    }
}
