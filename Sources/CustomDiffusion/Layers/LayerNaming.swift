/// Names of the cross-attention K/V weights in every naming this project meets, as a table of rules
/// (docs/STORAGE.md §3) rather than string edits scattered through readers and writers.
///
/// | naming | key weight of one layer |
/// | --- | --- |
/// | diffusers parameter (canonical) | `down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight` |
/// | CompVis / sgm | `model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight` |
/// | diffusers attention processor (`save_attn_procs`) | `<layer>.processor.to_k_custom_diffusion.weight` |
/// | kohya LoRA | `lora_unet_<layer with . → _>_to_k.lora_down.weight`, `.lora_up.weight`, `.alpha` |
///
/// The processor key is what `UNet2DConditionLoadersMixin._get_custom_diffusion_state_dict` produces in
/// diffusers 0.42 (`attn_processors` names end in `.processor`, `CustomDiffusionAttnProcessor` holds
/// `to_k_custom_diffusion` / `to_v_custom_diffusion` linears). The kohya key is the one diffusers'
/// `_convert_unet_lora_key` (loaders/lora_conversion_utils.py) maps back onto
/// `<layer>.processor.to_k_lora.down.weight` for `pipe.load_lora_weights`.
public enum LayerNaming {
    /// Prefix of UNet weights in CompVis single-file checkpoints.
    public static let compvisUNetPrefix = "model.diffusion_model."

    /// One CompVis block family ↔ one diffusers block family.
    ///
    /// `input_blocks.{n}.1` ↔ `down_blocks.{(n−1)/3}.attentions.{(n−1)%3}` for `(n−1)%3 < 2`;
    /// `middle_block.1` ↔ `mid_block.attentions.0`; `output_blocks.{n}.1` ↔ `up_blocks.{n/3}.attentions.{n%3}`.
    /// The same rules hold for SD1.x, SD2.x and SDXL (SDXL only uses fewer of the indices).
    public struct BlockRule: Sendable {
        /// CompVis family (`input_blocks`), or the whole CompVis prefix for a single block (`middle_block.1`).
        public let compvis: String
        /// diffusers family (`down_blocks`), or the whole diffusers prefix for a single block.
        public let diffusers: String
        /// CompVis index of attention 0 of diffusers block 0 (`nil`: a single block, no indices).
        public let indexOffset: Int?
        /// Attentions per diffusers block (2 down, 3 up).
        public let attentionsPerBlock: Int
    }

    /// The rules, in network order.
    public static let blockRules: [BlockRule] = [
        BlockRule(compvis: "input_blocks", diffusers: "down_blocks", indexOffset: 1, attentionsPerBlock: 2),
        BlockRule(compvis: "middle_block.1", diffusers: "mid_block.attentions.0", indexOffset: nil, attentionsPerBlock: 1),
        BlockRule(compvis: "output_blocks", diffusers: "up_blocks", indexOffset: 0, attentionsPerBlock: 3),
    ]

    // MARK: Layer names

    /// The CompVis module path of a diffusers layer (with the `model.diffusion_model.` prefix), or `nil`
    /// when the name does not follow the table.
    public static func compvisName(ofLayer layer: String) -> String? {
        for rule in blockRules {
            guard let offset = rule.indexOffset else {
                if layer.hasPrefix(rule.diffusers + ".") { return compvisUNetPrefix + rule.compvis + layer.dropFirst(rule.diffusers.count) }
                continue
            }
            let parts = layer.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count > 4, parts[0] == rule.diffusers, parts[2] == "attentions",
                  let block = Int(parts[1]), let attention = Int(parts[3]), attention < rule.attentionsPerBlock else { continue }
            let index = 3 * block + attention + offset
            return compvisUNetPrefix + "\(rule.compvis).\(index).1." + parts[4...].joined(separator: ".")
        }
        return nil
    }

    /// The diffusers layer path of a CompVis module path (with or without `model.diffusion_model.`).
    public static func diffusersName(ofCompVisLayer name: String) -> String? {
        let path = name.hasPrefix(compvisUNetPrefix) ? String(name.dropFirst(compvisUNetPrefix.count)) : name
        for rule in blockRules {
            guard let offset = rule.indexOffset else {
                if path.hasPrefix(rule.compvis + ".") { return rule.diffusers + path.dropFirst(rule.compvis.count) }
                continue
            }
            let parts = path.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count > 3, parts[0] == rule.compvis, parts[2] == "1", let index = Int(parts[1]), index >= offset else { continue }
            let block = (index - offset) / 3, attention = (index - offset) % 3
            guard attention < rule.attentionsPerBlock else { continue }
            return "\(rule.diffusers).\(block).attentions.\(attention)." + parts[3...].joined(separator: ".")
        }
        return nil
    }

    // MARK: Weight names

    /// `<layer>.to_k.weight`: the diffusers UNet parameter (also the adobe `delta.bin` key).
    public static func parameterName(_ key: LayerKey) -> String { "\(key.layer).\(key.projection.moduleName).weight" }

    /// `model.diffusion_model.<CompVis path>.to_k.weight`, or `nil` for a layer outside the table.
    public static func compvisParameterName(_ key: LayerKey) -> String? {
        compvisName(ofLayer: key.layer).map { "\($0).\(key.projection.moduleName).weight" }
    }

    /// `<layer>.processor.to_k_custom_diffusion.weight`: the key `save_attn_procs` writes.
    public static func processorKey(_ key: LayerKey) -> String { "\(key.layer).processor.\(key.projection.moduleName)_custom_diffusion.weight" }

    /// `lora_unet_<layer with . → _>_to_k`: the kohya module name; its tensors are `.lora_down.weight`,
    /// `.lora_up.weight` and `.alpha`.
    public static func kohyaModuleName(_ key: LayerKey) -> String {
        "lora_unet_" + key.layer.replacingOccurrences(of: ".", with: "_") + "_" + key.projection.moduleName
    }

    /// Recognises a K/V weight name in any of the namings above (diffusers parameter, optionally
    /// prefixed `unet.`; CompVis; processor key) and returns its layer key; `nil` for anything else.
    public static func parse(weightName name: String) -> LayerKey? {
        for projection in Projection.allCases {
            let p = projection.moduleName
            if name.hasSuffix(".processor.\(p)_custom_diffusion.weight") {
                let layer = String(name.dropLast(".processor.\(p)_custom_diffusion.weight".count))
                return isAttn2(layer) ? LayerKey(layer: layer, projection: projection) : nil
            }
            guard name.hasSuffix(".\(p).weight") else { continue }
            var layer = String(name.dropLast(".\(p).weight".count))
            if layer.hasPrefix(compvisUNetPrefix) || layer.hasPrefix("input_blocks.") || layer.hasPrefix("middle_block.") || layer.hasPrefix("output_blocks.") {
                guard let converted = diffusersName(ofCompVisLayer: layer) else { return nil }
                layer = converted
            } else if layer.hasPrefix("unet.") {
                layer = String(layer.dropFirst("unet.".count))
            }
            return isAttn2(layer) ? LayerKey(layer: layer, projection: projection) : nil
        }
        return nil
    }

    /// Whether a diffusers path names a cross-attention layer (`….transformer_blocks.N.attn2`).
    static func isAttn2(_ layer: String) -> Bool {
        layer.hasSuffix(".attn2") && layer.contains(".transformer_blocks.")
            && (layer.hasPrefix("down_blocks.") || layer.hasPrefix("mid_block.") || layer.hasPrefix("up_blocks."))
    }

    /// `N` of `transformer_blocks.N` in a layer path.
    static func transformerBlockIndex(of layer: String) -> Int? {
        let parts = layer.split(separator: ".")
        guard let i = parts.firstIndex(of: "transformer_blocks"), i + 1 < parts.count else { return nil }
        return Int(parts[i + 1])
    }

    /// Sort key: down blocks, mid block, up blocks; numeric indices compared as numbers.
    static func networkOrder(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> [Int] {
            let family = s.hasPrefix("down_blocks") ? 0 : s.hasPrefix("mid_block") ? 1 : 2
            return [family] + s.split(separator: ".").compactMap { Int($0) }
        }
        let ka = key(a), kb = key(b)
        return ka != kb ? ka.lexicographicallyPrecedes(kb) : a < b
    }
}
