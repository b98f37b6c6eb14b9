extension ConceptCheckpoint {
    /// Checks the checkpoint against a base's layer table: every base layer has its key and value
    /// weight, no weight names a layer the base lacks, full weights are `h × d`, delta factors
    /// `h × r` and `r × d`, and every embedding has `d` values. Throws the first problem, naming the layer.
    public func validate(against layers: [CrossAttentionLayer]) throws {
        let table = Dictionary(layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for key in weights.keys.sorted() where table[key.layer] == nil { throw ConceptError.unknownLayer(key) }
        for layer in layers {
            for projection in Projection.allCases {
                let key = LayerKey(layer: layer.name, projection: projection)
                guard let weight = weights[key] else { throw ConceptError.missingLayer(key) }
                let h = layer.outFeatures, d = layer.inFeatures
                switch weight {
                case .full(let w):
                    guard w.rows == h, w.cols == d else { throw ConceptError.wrongShape(key, expected: [h, d], actual: [w.rows, w.cols]) }
                case .delta(let up, let down):
                    guard up.rows == h else { throw ConceptError.wrongShape(key, expected: [h, up.cols], actual: [up.rows, up.cols]) }
                    guard down.cols == d, down.rows == up.cols else {
                        throw ConceptError.wrongShape(key, expected: [up.cols, d], actual: [down.rows, down.cols])
                    }
                }
            }
        }
        if let d = layers.first?.inFeatures {
            for token in tokens where token.embedding.count != d {
                throw ConceptError.badEmbedding(token: token.name, shape: [token.embedding.count], path: sourceFiles.first?.path ?? "")
            }
        }
    }
}
