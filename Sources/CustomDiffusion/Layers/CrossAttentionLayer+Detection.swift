import TensorFormats
extension CrossAttentionLayer {
    /// The cross-attention layer table of a UNet, from its tensor names and shapes, in diffusers
    /// (`down_blocks.…attn2.to_k.weight`, optionally `unet.`-prefixed) or CompVis
    /// (`model.diffusion_model.input_blocks.….attn2.to_k.weight`) naming. Other tensors are ignored.
    ///
    /// Every layer must have both `to_k` and `to_v`, 2-D and of the same shape. Result in network order.
    public static func detect(in tensors: [(name: String, shape: [Int])]) throws -> [CrossAttentionLayer] {
        var shapes: [LayerKey: [Int]] = [:]
        for (name, shape) in tensors {
            guard let key = LayerNaming.parse(weightName: name) else { continue }
            guard shape.count == 2, shape[0] > 0, shape[1] > 0 else {
                throw ConceptError.noCrossAttentionLayers(reason: "\(name) has shape \(shape), expected h × d")
            }
            shapes[key] = shape
        }
        guard !shapes.isEmpty else { throw ConceptError.noCrossAttentionLayers(reason: "no attn2.to_k / attn2.to_v weights") }
        var layers: [CrossAttentionLayer] = []
        for name in Set(shapes.keys.map(\.layer)) {
            let k = shapes[LayerKey(layer: name, projection: .key)], v = shapes[LayerKey(layer: name, projection: .value)]
            guard let k, let v else {
                throw ConceptError.noCrossAttentionLayers(reason: "\(name) has only one of to_k / to_v")
            }
            guard k == v else { throw ConceptError.noCrossAttentionLayers(reason: "\(name): to_k is \(k), to_v is \(v)") }
            layers.append(CrossAttentionLayer(name: name, outFeatures: k[0], inFeatures: k[1]))
        }
        return layers.sorted { LayerNaming.networkOrder($0.name, $1.name) }
    }

    /// The table of an archive's tensors (a UNet file, a CompVis single file, …).
    public static func detect(in archive: TensorArchive) throws -> [CrossAttentionLayer] {
        try detect(in: archive.tensors.map { ($0.name, $0.tensor.shape) })
    }

    /// `h × d`.
    public var shape: [Int] { [outFeatures, inFeatures] }

    /// Number of K/V parameters of a table: `2 · Σ h·d`.
    public static func keyValueParameterCount(_ layers: [CrossAttentionLayer]) -> Int {
        layers.reduce(0) { $0 + 2 * $1.outFeatures * $1.inFeatures }
    }
}
