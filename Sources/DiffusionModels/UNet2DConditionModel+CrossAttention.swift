import Foundation

extension UNet2DConditionModel {
    /// The diffusers module paths of the cross-attention layers (`…transformer_blocks.N.attn2`), in forward order
    /// (16 for SD 1.x).
    public var crossAttentionLayers: [String] {
        var names: [String] = []
        func add(_ prefix: String, _ attentions: [Transformer2DModel]) {
            for (j, attention) in attentions.enumerated() {
                for t in attention.blocks.indices { names.append("\(prefix).attentions.\(j).transformer_blocks.\(t).attn2") }
            }
        }
        for (i, block) in downBlocks.enumerated() { add("down_blocks.\(i)", block.attentions) }
        add("mid_block", midBlock.attentions)
        for (i, block) in upBlocks.enumerated() { add("up_blocks.\(i)", block.attentions) }
        return names
    }

    /// Replaces a cross-attention layer's to_k / to_v weights (layer = diffusers module path ending in `attn2`,
    /// e.g. "down_blocks.0.attentions.0.transformer_blocks.0.attn2"; weights row-major out×in Float32, out = the
    /// layer's inner dim, in = cross_attention_dim). Kept as Float32 (Custom Diffusion's merged weights).
    public func setCrossAttentionWeights(layer: String, key: [Float], value: [Float]) throws {
        let parts = layer.split(separator: ".").map(String.init)
        // <block path>.attentions.<j>.transformer_blocks.<t>.attn2
        guard parts.count >= 6, parts.last == "attn2", parts[parts.count - 3] == "transformer_blocks",
              parts[parts.count - 5] == "attentions",
              let t = Int(parts[parts.count - 2]), let j = Int(parts[parts.count - 4]) else {
            throw DiffusionModelsError.unknownCrossAttentionLayer(layer)
        }
        let block = parts[0..<(parts.count - 5)].joined(separator: ".")
        lock.lock()
        defer { lock.unlock() }
        func update(_ attentions: inout [Transformer2DModel]) throws {
            guard attentions.indices.contains(j), attentions[j].blocks.indices.contains(t) else {
                throw DiffusionModelsError.unknownCrossAttentionLayer(layer)
            }
            let attention = attentions[j].blocks[t].attn2
            let expected = attention.heads * attention.headDim * attention.contextDim
            for (name, values) in [("key", key), ("value", value)] where values.count != expected {
                throw DiffusionModelsError.invalidInput(
                    name: "\(layer) \(name)",
                    reason: "\(values.count) values, expected \(attention.heads * attention.headDim)×\(attention.contextDim)")
            }
            attentions[j].blocks[t].attn2.toK.weight = StoredWeights(floats: key)
            attentions[j].blocks[t].attn2.toV.weight = StoredWeights(floats: value)
        }
        if block == "mid_block" {
            try update(&midBlock.attentions)
        } else if block.hasPrefix("down_blocks."), let i = Int(block.dropFirst("down_blocks.".count)), downBlocks.indices.contains(i) {
            try update(&downBlocks[i].attentions)
        } else if block.hasPrefix("up_blocks."), let i = Int(block.dropFirst("up_blocks.".count)), upBlocks.indices.contains(i) {
            try update(&upBlocks[i].attentions)
        } else {
            throw DiffusionModelsError.unknownCrossAttentionLayer(layer)
        }
    }
}
