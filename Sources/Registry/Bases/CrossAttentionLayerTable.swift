import CustomDiffusion

/// A base's cross-attention layer table: the layers `CrossAttentionLayer.detect` finds in the UNet
/// (diffusers or CompVis naming, docs/STORAGE.md §3), each with the names of the stored tensors that hold
/// W0 of `to_k` and `to_v`.
enum CrossAttentionLayerTable {
    struct Entry: Sendable {
        let layer: CrossAttentionLayer
        /// Base tensor names (as stored, in the source's naming) of `to_k.weight` and `to_v.weight`.
        let keyTensor: String
        let valueTensor: String
    }

    static func detect(unetTensors: [(name: String, shape: [Int])], source: String) throws -> [Entry] {
        let layers: [CrossAttentionLayer]
        do {
            layers = try CrossAttentionLayer.detect(in: unetTensors)
        } catch {
            throw RegistryError.invalidBase(path: source, reason: error.localizedDescription)
        }
        var tensorNames: [LayerKey: String] = [:]
        for tensor in unetTensors {
            if let key = LayerNaming.parse(weightName: tensor.name) { tensorNames[key] = tensor.name }
        }
        return try layers.map { layer in
            guard let k = tensorNames[LayerKey(layer: layer.name, projection: .key)],
                  let v = tensorNames[LayerKey(layer: layer.name, projection: .value)]
            else { throw RegistryError.invalidBase(path: source, reason: "layer \(layer.name) lacks to_k or to_v") }
            return Entry(layer: layer, keyTensor: k, valueTensor: v)
        }
    }
}
