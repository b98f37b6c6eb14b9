import Foundation

extension CLIPTextConfiguration {
    /// The configuration of an OpenAI CLIP text tower from its tensor shapes alone, for checkpoints that carry no
    /// `config.json` (CompVis SD 1.x single files hold ViT-L/14's under `cond_stage_model.transformer.`).
    ///
    /// Read from the shapes: `vocab_size`, `hidden_size` (token embedding), `max_position_embeddings` (position
    /// embedding), `num_hidden_layers` (the `encoder.layers.N.` present), `intermediate_size` (`fc1`). Fixed by the
    /// OpenAI CLIP family, as in every `openai/clip-vit-*` config: heads of width 64 (`num_attention_heads =
    /// hidden_size / 64`), `quick_gelu`, `layer_norm_eps` 1e-5, BOS 49406 / EOS 49407 of the 49 408-token BPE
    /// vocabulary (which the shapes must show). OpenCLIP towers (SD 2 single files, `cond_stage_model.model.`)
    /// use other names and are not recognised here.
    public static func openAICLIP(tensorShapes shapes: [String: [Int]]) throws -> CLIPTextConfiguration {
        let names = try WeightNames(weights: shapes)
        func shape(_ name: String) throws -> [Int] {
            guard let shape = shapes[names.full(name)] else { throw TextEncoderError.missingTensor(name: names.full(name)) }
            return shape
        }
        let token = try shape("embeddings.token_embedding.weight")
        let position = try shape("embeddings.position_embedding.weight")
        guard token.count == 2, position.count == 2, token[1] == position[1] else {
            throw TextEncoderError.invalidConfiguration(field: "embeddings", reason: "have shapes \(token) and \(position), not [vocab, d] and [positions, d]")
        }
        let vocab = token[0], d = token[1]
        guard vocab == 49_408 else {
            throw TextEncoderError.invalidConfiguration(field: "vocab_size", reason: "is \(vocab), not the 49408 tokens of OpenAI CLIP's BPE vocabulary, so the tokenizer and config cannot be inferred")
        }
        guard d > 0, d % 64 == 0 else {
            throw TextEncoderError.invalidConfiguration(field: "hidden_size", reason: "is \(d), not a multiple of OpenAI CLIP's head width 64")
        }
        let layerPrefix = names.full("encoder.layers.")
        let layers = Set(shapes.keys.compactMap { name -> Int? in
            guard name.hasPrefix(layerPrefix) else { return nil }
            return Int(name.dropFirst(layerPrefix.count).prefix { $0 != "." })
        })
        guard !layers.isEmpty, layers == Set(0..<layers.count) else {
            throw TextEncoderError.invalidConfiguration(field: "num_hidden_layers", reason: "cannot be read: layers \(layers.sorted()) are not 0…N−1")
        }
        let fc1 = try shape("encoder.layers.0.mlp.fc1.weight")
        guard fc1.count == 2, fc1[1] == d else {
            throw TextEncoderError.invalidConfiguration(field: "intermediate_size", reason: "cannot be read from fc1's shape \(fc1)")
        }
        return try CLIPTextConfiguration(vocabSize: vocab, hiddenSize: d, intermediateSize: fc1[0], projectionDim: d,
                                         numLayers: layers.count, numHeads: d / 64, maxPositions: position[0],
                                         activation: .quickGELU, layerNormEps: 1e-5, bosTokenID: 49406, eosTokenID: 49407, padTokenID: 49407)
    }
}

extension CLIPTokenizer {
    /// OpenAI CLIP's tokenizer from the BPE merges shipped with this module (the vocabulary CLIP builds from
    /// them, padding with EOS as SD 1.x pipelines do): for bases whose checkpoint holds no tokenizer files.
    public static func bundledOpenAICLIP() throws -> CLIPTokenizer {
        guard let url = Bundle.module.url(forResource: "clip-merges", withExtension: "txt") else {
            throw TextEncoderError.unreadableFile(path: "clip-merges.txt", reason: "the TextEncoder resource bundle is missing")
        }
        return try CLIPTokenizer(bpeMerges: url)
    }
}
