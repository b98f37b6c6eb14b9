import CustomDiffusion
import Foundation
import Registry
import Tensors

/// The concept set applied to the base before sampling: the fine-tuned K/V weights W′ of the 16 cross-attention
/// layers (`<layer>` is the diffusers module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn2`)
/// and the modifier-token embeddings, with the tokens named as `compose` names them (`<new1-cat>`).
///
/// Sources: `--concepts A B …` composes the set with the cached closed-form merge (`Store.compose`); a single
/// concept uses its own weights (`Store.export`, no merge); `--composition ID` re-exports a recorded composition.
/// All three go through the diffusers export (`pytorch_custom_diffusion_weights.safetensors` + `<token>.safetensors`)
/// read back with `ConceptCheckpoint.read`, so generation applies exactly what `compose`/`export` hand to diffusers.
public struct ConceptWeights: Sendable {
    /// One applied concept version (`{reference, version}` of the JSON result).
    public struct Applied: Codable, Sendable, Equatable {
        public let reference: String
        public let version: String
        /// Its tokens as they must be written in the prompt.
        public let tokens: [String]
    }

    public let base: String
    public let applied: [Applied]
    /// Full W′ per layer: key and value, row-major `[h, d]`.
    public let layers: [(layer: String, key: Matrix<Float>, value: Matrix<Float>)]
    /// Tokens in id order (the order they are added to the tokenizer), with their embeddings.
    public let tokens: [ConceptCheckpoint.Token]
    public let compositionID: String?

    public static let none = ConceptWeights(base: "", applied: [], layers: [], tokens: [], compositionID: nil)

    /// Resolves `references` (or `compositionID`) on `store`; `base` must be their base.
    public static func resolve(store: Store, base: String, references: [String], regset: String?, compositionID: String?) throws -> ConceptWeights {
        if references.isEmpty && compositionID == nil { return ConceptWeights(base: base, applied: [], layers: [], tokens: [], compositionID: nil) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-generate-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var applied: [Applied]
        var conceptBase: String
        var id: String?
        if let compositionID {
            let result = try store.exportComposition(id: compositionID, format: .diffusers, to: directory)
            applied = result.concepts.map { Applied(reference: $0.reference, version: $0.version, tokens: $0.tokens) }
            conceptBase = result.base
            id = result.compositionID
        } else if references.count == 1 {
            let reference = try ConceptReference(parsing: references[0])
            let details = try store.details(reference)
            _ = try store.export(reference, format: .diffusers, to: directory)
            applied = [Applied(reference: references[0], version: "\(details.name)@\(details.version)", tokens: details.tokens.map(\.token))]
            conceptBase = details.base
        } else {
            let result = try store.compose(ComposeRequest(references: references, regset: regset, format: .diffusers, output: directory))
            applied = result.concepts.map { Applied(reference: $0.reference, version: $0.version, tokens: $0.tokens) }
            conceptBase = result.base
            id = result.compositionID
        }
        guard conceptBase == base else {
            throw GenerationError.conceptMismatch("\(applied.map(\.reference).joined(separator: ", ")) \(applied.count == 1 ? "is" : "are") on base '\(conceptBase)', not '\(base)'")
        }
        let checkpoint = try ConceptCheckpoint.read(path: directory)
        var layers: [(String, Matrix<Float>, Matrix<Float>)] = []
        let names = checkpoint.weights.keys.filter { $0.projection == .key }.sorted().map(\.layer)  // network order
        for layer in names {
            guard case .full(let key)? = checkpoint.weights[LayerKey(layer: layer, projection: .key)],
                  case .full(let value)? = checkpoint.weights[LayerKey(layer: layer, projection: .value)] else {
                throw GenerationError.conceptMismatch("the export lacks the key or value weight of \(layer)")
            }
            layers.append((layer, key, value))
        }
        let order = applied.flatMap(\.tokens)
        let byName = Dictionary(checkpoint.tokens.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let tokens = try order.map { name -> ConceptCheckpoint.Token in
            guard let token = byName[name] else { throw GenerationError.conceptMismatch("no embedding was exported for token \(name)") }
            return token
        }
        return ConceptWeights(base: base, applied: applied, layers: layers, tokens: tokens, compositionID: id)
    }
}
