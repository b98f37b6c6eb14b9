/// Where the text encoder's tensors live in a checkpoint: the rules as data.
///
/// | layout | token embedding name |
/// |---|---|
/// | Hugging Face `CLIPTextModel(WithProjection)` | `text_model.embeddings.token_embedding.weight` |
/// | CompVis SD 1.x (recent) | `cond_stage_model.transformer.text_model.embeddings.token_embedding.weight` |
/// | CompVis SD 1.x (older transformers) | `cond_stage_model.transformer.embeddings.token_embedding.weight` |
/// | transformers 5 bare `CLIPTextModel.state_dict()` | `embeddings.token_embedding.weight` |
///
/// The projection is `text_projection.weight` (Hugging Face only; CompVis SD 1 has none).
struct WeightNames {
    static let prefixes = [
        "text_model.",
        "cond_stage_model.transformer.text_model.",
        "cond_stage_model.transformer.",
        "",
    ]
    static let probe = "embeddings.token_embedding.weight"
    static let projection = "text_projection.weight"

    let prefix: String

    init<T>(weights: [String: T]) throws {
        guard let prefix = Self.prefixes.first(where: { weights[$0 + Self.probe] != nil }) else {
            throw TextEncoderError.missingTensor(name: Self.prefixes[0] + Self.probe)
        }
        self.prefix = prefix
    }

    /// The stored name of a tensor given relative to the text transformer (`encoder.layers.0.mlp.fc1.weight`).
    func full(_ name: String) -> String { prefix + name }
}
