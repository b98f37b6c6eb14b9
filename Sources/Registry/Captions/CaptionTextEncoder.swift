import CaptionIndex
import Foundation
import TextEncoder

/// A loaded caption encoder: the CLIP tokenizer and text model with projection of a registered
/// encoder (`encoder add`), producing transformers' `text_embeds` for captions and queries.
struct LoadedCaptionEncoder: Sendable {
    let name: String
    let tokenizer: CLIPTokenizer
    let model: CLIPTextModel
    var projectionDim: Int { model.configuration.projectionDim }

    /// `text_embeds` (the projection of the pooled state) of `texts`, one per text; each caption is
    /// tokenized as transformers does (`truncation=True, max_length=77`), without padding.
    func embed(_ texts: [String]) throws -> [[Float]] {
        let batch = texts.map { tokenizer.encode($0, maxLength: model.configuration.maxPositions) }
        return try model.encode(batch).map { output in
            guard let projection = output.projection else {
                throw CaptionError.invalidEncoder(path: name, reason: "the model has no text projection")
            }
            return projection
        }
    }
}

extension Store {
    /// Loads a registered encoder (files materialised once under `<store>/cache/encoders/`; the
    /// loaded model is kept for the life of the process).
    func loadCaptionEncoder(named name: String) throws -> LoadedCaptionEncoder {
        let directory = try materializeCaptionEncoder(named: name)
        if let cached = LoadedEncoderCache.shared.get(directory.path) { return cached }
        do {
            let model = try CLIPTextModel.load(directory: directory)
            let tokenizer = try CLIPTokenizer.load(directory: directory.appendingPathComponent("tokenizer"))
            let loaded = LoadedCaptionEncoder(name: name, tokenizer: tokenizer, model: model)
            LoadedEncoderCache.shared.put(directory.path, loaded)
            return loaded
        } catch let error as CaptionError {
            throw error
        } catch {
            throw CaptionError.invalidEncoder(path: name, reason: (error as? LocalizedError)?.errorDescription ?? String(describing: error))
        }
    }
}

/// Encoders loaded by this process, by materialised folder.
final class LoadedEncoderCache: @unchecked Sendable {
    // `@unchecked Sendable`: every access goes through `lock`.
    static let shared = LoadedEncoderCache()
    private let lock = NSLock()
    private var encoders: [String: LoadedCaptionEncoder] = [:]

    func get(_ key: String) -> LoadedCaptionEncoder? { lock.withLock { encoders[key] } }
    func put(_ key: String, _ encoder: LoadedCaptionEncoder) { lock.withLock { encoders[key] = encoder } }
}
