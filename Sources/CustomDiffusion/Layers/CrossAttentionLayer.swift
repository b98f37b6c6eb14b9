/// One cross-attention (`attn2`) layer of a UNet, named by its diffusers module path
/// (`down_blocks.0.attentions.0.transformer_blocks.0.attn2`), with the shape of its key and value
/// projections: `to_k.weight` and `to_v.weight` are both `outFeatures × inFeatures` (`h × d`): the `Wk`, `Wv`
/// of Kumari et al., CVPR 2023, §3.1, Eq. 3 (`K = Wk c`, `V = Wv c`), the only weights a fine-tune
/// changes (docs/METHOD.md §1).
public struct CrossAttentionLayer: Sendable, Hashable, Codable {
    /// diffusers module path, canonical in this project.
    public var name: String
    /// `h`: the attention's inner dimension (320, 640 or 1280 in SD1.x).
    public var outFeatures: Int
    /// `d`: the text features' width (768 in SD1.x, 1024 in SD2.x, 2048 in SDXL).
    public var inFeatures: Int

    public init(name: String, outFeatures: Int, inFeatures: Int) {
        self.name = name
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
    }
}

/// The two projections Custom Diffusion fine-tunes in each cross-attention layer.
public enum Projection: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// `to_k`: keys from text features.
    case key = "to_k"
    /// `to_v`: values from text features.
    case value = "to_v"

    /// The diffusers module suffix, `to_k` / `to_v`.
    public var moduleName: String { rawValue }

    public static func < (lhs: Projection, rhs: Projection) -> Bool { lhs == .key && rhs == .value }
}

/// Stable Diffusion families, told apart by their cross-attention layer tables (docs/STORAGE.md §3).
public enum Architecture: String, Sendable, Codable, CaseIterable {
    case sd1, sd2, sdxl

    /// The family of a layer table: SDXL when a layer has several transformer blocks or `d = 2048`,
    /// SD2 when `d = 1024`, otherwise SD1 (which also covers tiny SD1-layout test models).
    public init(layers: [CrossAttentionLayer]) {
        let widths = Set(layers.map(\.inFeatures))
        if widths.contains(2048) || layers.contains(where: { LayerNaming.transformerBlockIndex(of: $0.name) ?? 0 > 0 }) {
            self = .sdxl
        } else if widths.contains(1024) {
            self = .sd2
        } else {
            self = .sd1
        }
    }
}

/// One fine-tuned weight: a layer's key or value projection.
public struct LayerKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// diffusers module path of the layer.
    public var layer: String
    public var projection: Projection

    public init(layer: String, projection: Projection) {
        self.layer = layer
        self.projection = projection
    }

    /// `<layer>.to_k` / `<layer>.to_v`: the name used in goldens, logs and errors.
    public var description: String { "\(layer).\(projection.moduleName)" }

    /// Network order (down, mid, up blocks; then key before value).
    public static func < (lhs: LayerKey, rhs: LayerKey) -> Bool {
        if lhs.layer != rhs.layer { return LayerNaming.networkOrder(lhs.layer, rhs.layer) }
        return lhs.projection < rhs.projection
    }
}
