import Foundation
import TextEncoder

extension Store {
    /// The tokenizer and text model of a base model (`--base`) or of a registered caption encoder
    /// (`--encoder`), for `tokenize` and `encode`.
    public func textModel(base: String?, encoder: String?) throws -> (tokenizer: CLIPTokenizer, model: CLIPTextModel) {
        switch (base, encoder) {
        case (let base?, nil): return try textEncoder(forBase: base)
        case (nil, let encoder?):
            let loaded = try loadCaptionEncoder(named: encoder)
            return (loaded.tokenizer, loaded.model)
        default: throw RegistryError.invalidReference("name exactly one text model: a base model or a caption encoder")
        }
    }
}
