import Foundation
import Tensors

/// CompVis single-file names (`model.diffusion_model.*` for the UNet, `first_stage_model.*` for the VAE) mapped to
/// diffusers names, as data: a table of block prefixes (the rules of diffusers'
/// scripts/convert_diffusers_to_original_stable_diffusion.py for SD 1.x/2.x's layout: 4 levels, 2 layers per block)
/// and, inside ResNet and VAE-attention blocks, a table of part renames. Names no rule covers are left out.
public enum CompVisWeightNames {
    /// What follows a block prefix: kept as is, or renamed by `resnetParts` / `vaeAttentionParts`.
    public enum Inner: Sendable { case plain, resnet, attention }

    /// `compVis` prefix → `diffusers` prefix (whole dot-separated components).
    public struct Rule: Sendable {
        public let compVis: String
        public let diffusers: String
        public let inner: Inner
        public init(_ compVis: String, _ diffusers: String, _ inner: Inner) {
            self.compVis = compVis
            self.diffusers = diffusers
            self.inner = inner
        }
    }

    public static let unetPrefix = "model.diffusion_model."
    public static let vaePrefix = "first_stage_model."

    /// The UNet's blocks (after `model.diffusion_model.`).
    public static let unetRules: [Rule] = [
        Rule("time_embed.0", "time_embedding.linear_1", .plain),
        Rule("time_embed.2", "time_embedding.linear_2", .plain),
        Rule("input_blocks.0.0", "conv_in", .plain),
        Rule("input_blocks.1.0", "down_blocks.0.resnets.0", .resnet),
        Rule("input_blocks.1.1", "down_blocks.0.attentions.0", .plain),
        Rule("input_blocks.2.0", "down_blocks.0.resnets.1", .resnet),
        Rule("input_blocks.2.1", "down_blocks.0.attentions.1", .plain),
        Rule("input_blocks.3.0.op", "down_blocks.0.downsamplers.0.conv", .plain),
        Rule("input_blocks.4.0", "down_blocks.1.resnets.0", .resnet),
        Rule("input_blocks.4.1", "down_blocks.1.attentions.0", .plain),
        Rule("input_blocks.5.0", "down_blocks.1.resnets.1", .resnet),
        Rule("input_blocks.5.1", "down_blocks.1.attentions.1", .plain),
        Rule("input_blocks.6.0.op", "down_blocks.1.downsamplers.0.conv", .plain),
        Rule("input_blocks.7.0", "down_blocks.2.resnets.0", .resnet),
        Rule("input_blocks.7.1", "down_blocks.2.attentions.0", .plain),
        Rule("input_blocks.8.0", "down_blocks.2.resnets.1", .resnet),
        Rule("input_blocks.8.1", "down_blocks.2.attentions.1", .plain),
        Rule("input_blocks.9.0.op", "down_blocks.2.downsamplers.0.conv", .plain),
        Rule("input_blocks.10.0", "down_blocks.3.resnets.0", .resnet),
        Rule("input_blocks.11.0", "down_blocks.3.resnets.1", .resnet),
        Rule("middle_block.0", "mid_block.resnets.0", .resnet),
        Rule("middle_block.1", "mid_block.attentions.0", .plain),
        Rule("middle_block.2", "mid_block.resnets.1", .resnet),
        Rule("output_blocks.0.0", "up_blocks.0.resnets.0", .resnet),
        Rule("output_blocks.1.0", "up_blocks.0.resnets.1", .resnet),
        Rule("output_blocks.2.0", "up_blocks.0.resnets.2", .resnet),
        Rule("output_blocks.2.1.conv", "up_blocks.0.upsamplers.0.conv", .plain),
        Rule("output_blocks.3.0", "up_blocks.1.resnets.0", .resnet),
        Rule("output_blocks.3.1", "up_blocks.1.attentions.0", .plain),
        Rule("output_blocks.4.0", "up_blocks.1.resnets.1", .resnet),
        Rule("output_blocks.4.1", "up_blocks.1.attentions.1", .plain),
        Rule("output_blocks.5.0", "up_blocks.1.resnets.2", .resnet),
        Rule("output_blocks.5.1", "up_blocks.1.attentions.2", .plain),
        Rule("output_blocks.5.2.conv", "up_blocks.1.upsamplers.0.conv", .plain),
        Rule("output_blocks.6.0", "up_blocks.2.resnets.0", .resnet),
        Rule("output_blocks.6.1", "up_blocks.2.attentions.0", .plain),
        Rule("output_blocks.7.0", "up_blocks.2.resnets.1", .resnet),
        Rule("output_blocks.7.1", "up_blocks.2.attentions.1", .plain),
        Rule("output_blocks.8.0", "up_blocks.2.resnets.2", .resnet),
        Rule("output_blocks.8.1", "up_blocks.2.attentions.2", .plain),
        Rule("output_blocks.8.2.conv", "up_blocks.2.upsamplers.0.conv", .plain),
        Rule("output_blocks.9.0", "up_blocks.3.resnets.0", .resnet),
        Rule("output_blocks.9.1", "up_blocks.3.attentions.0", .plain),
        Rule("output_blocks.10.0", "up_blocks.3.resnets.1", .resnet),
        Rule("output_blocks.10.1", "up_blocks.3.attentions.1", .plain),
        Rule("output_blocks.11.0", "up_blocks.3.resnets.2", .resnet),
        Rule("output_blocks.11.1", "up_blocks.3.attentions.2", .plain),
        Rule("out.0", "conv_norm_out", .plain),
        Rule("out.2", "conv_out", .plain),
    ]

    /// The VAE decoder's blocks (after `first_stage_model.`; CompVis numbers `decoder.up` from the lowest resolution's
    /// opposite end: diffusers' up_blocks.i is CompVis up.(3 − i)).
    public static let vaeRules: [Rule] = [
        Rule("post_quant_conv", "post_quant_conv", .plain),
        Rule("decoder.conv_in", "decoder.conv_in", .plain),
        Rule("decoder.mid.block_1", "decoder.mid_block.resnets.0", .resnet),
        Rule("decoder.mid.attn_1", "decoder.mid_block.attentions.0", .attention),
        Rule("decoder.mid.block_2", "decoder.mid_block.resnets.1", .resnet),
        Rule("decoder.up.3.block.0", "decoder.up_blocks.0.resnets.0", .resnet),
        Rule("decoder.up.3.block.1", "decoder.up_blocks.0.resnets.1", .resnet),
        Rule("decoder.up.3.block.2", "decoder.up_blocks.0.resnets.2", .resnet),
        Rule("decoder.up.3.upsample.conv", "decoder.up_blocks.0.upsamplers.0.conv", .plain),
        Rule("decoder.up.2.block.0", "decoder.up_blocks.1.resnets.0", .resnet),
        Rule("decoder.up.2.block.1", "decoder.up_blocks.1.resnets.1", .resnet),
        Rule("decoder.up.2.block.2", "decoder.up_blocks.1.resnets.2", .resnet),
        Rule("decoder.up.2.upsample.conv", "decoder.up_blocks.1.upsamplers.0.conv", .plain),
        Rule("decoder.up.1.block.0", "decoder.up_blocks.2.resnets.0", .resnet),
        Rule("decoder.up.1.block.1", "decoder.up_blocks.2.resnets.1", .resnet),
        Rule("decoder.up.1.block.2", "decoder.up_blocks.2.resnets.2", .resnet),
        Rule("decoder.up.1.upsample.conv", "decoder.up_blocks.2.upsamplers.0.conv", .plain),
        Rule("decoder.up.0.block.0", "decoder.up_blocks.3.resnets.0", .resnet),
        Rule("decoder.up.0.block.1", "decoder.up_blocks.3.resnets.1", .resnet),
        Rule("decoder.up.0.block.2", "decoder.up_blocks.3.resnets.2", .resnet),
        Rule("decoder.norm_out", "decoder.conv_norm_out", .plain),
        Rule("decoder.conv_out", "decoder.conv_out", .plain),
    ]

    /// Part renames inside a ResNet block (`ResBlock` in the UNet; the VAE's `ResnetBlock` differs only in the shortcut).
    public static let resnetParts: [(compVis: String, diffusers: String)] = [
        ("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("emb_layers.1", "time_emb_proj"),
        ("out_layers.0", "norm2"), ("out_layers.3", "conv2"), ("skip_connection", "conv_shortcut"),
        ("nin_shortcut", "conv_shortcut"),
    ]

    /// Part renames inside the VAE's mid-block attention (1×1 convs there, linear layers in diffusers: same values).
    public static let vaeAttentionParts: [(compVis: String, diffusers: String)] = [
        ("norm", "group_norm"), ("q", "to_q"), ("k", "to_k"), ("v", "to_v"), ("proj_out", "to_out.0"),
    ]

    /// The diffusers name (within `unet/` or `vae/`) of a CompVis name, or nil when no rule covers it.
    public static func diffusersName(forCompVis name: String) -> String? {
        let (rules, rest): ([Rule], Substring)
        if name.hasPrefix(unetPrefix) {
            (rules, rest) = (unetRules, name.dropFirst(unetPrefix.count))
        } else if name.hasPrefix(vaePrefix) {
            (rules, rest) = (vaeRules, name.dropFirst(vaePrefix.count))
        } else {
            return nil
        }
        // The longest matching prefix wins (input_blocks.1.0 must not match input_blocks.1.0x).
        guard let rule = rules.filter({ rest.hasPrefix($0.compVis + ".") }).max(by: { $0.compVis.count < $1.compVis.count })
        else { return nil }
        var inner = String(rest.dropFirst(rule.compVis.count + 1))
        let parts: [(compVis: String, diffusers: String)] =
            rule.inner == .resnet ? resnetParts : rule.inner == .attention ? vaeAttentionParts : []
        if let part = parts.first(where: { inner.hasPrefix($0.compVis + ".") }) {
            inner = part.diffusers + inner.dropFirst(part.compVis.count)
        }
        return rule.diffusers + "." + inner
    }

    /// The tensors of a CompVis single file under diffusers names: `component` `.unet` or `.vae`.
    public enum Component: Sendable { case unet, vae }

    public static func weights(_ source: some WeightSource, component: Component) throws -> TensorDictionaryWeights {
        let prefix = component == .unet ? unetPrefix : vaePrefix
        var tensors: [String: RawTensor] = [:]
        for name in source.tensorNames where name.hasPrefix(prefix) {
            if let mapped = diffusersName(forCompVis: name) { tensors[mapped] = try source.tensor(named: name) }
        }
        return TensorDictionaryWeights(tensors)
    }
}
