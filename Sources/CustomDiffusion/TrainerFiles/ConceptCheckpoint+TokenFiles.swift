import Foundation

/// The per-token embedding files of a diffusers trainer folder (`<token>.safetensors|.bin|.pt`,
/// written by the trainer's `save_new_embed`).
extension ConceptCheckpoint {
    /// Token embedding files of a diffusers folder, grouped by file stem: the trainer writes
    /// `<token>.safetensors` with safe serialization and `<token>.bin` without, so a folder used for
    /// both runs holds both. Each group lists the preferred file first (`.safetensors`, then `.bin`,
    /// then `.pt`); the others only have to agree with it.
    static func tokenFileGroups(_ names: [String], in directory: URL) -> [[URL]] {
        let extensions = [".safetensors", ".bin", ".pt"]
        var groups: [String: [(rank: Int, url: URL)]] = [:]
        for name in names where !diffusersWeightFileNames.contains(name) {
            guard let rank = extensions.firstIndex(where: { name.hasSuffix($0) }) else { continue }
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            groups[String(name.dropLast(extensions[rank].count)), default: []].append((rank, url))
        }
        return groups.keys.sorted().compactMap { stem in groups[stem]?.sorted { $0.rank < $1.rank }.map(\.url) }
    }

    /// The `{token: embedding}` entries of one token file, in file order.
    static func tokenEmbeddings(_ url: URL) throws -> [Token] {
        try readArchive(url).tensors.map { name, tensor in
            Token(name: name, embedding: try embedding(tensor, token: name, path: url.path))
        }
    }

    /// Two token files of one stem must hold the same tokens with the same values (compared as
    /// Float32, so an fp16 copy of fp32 values disagrees unless they round to the same numbers).
    static func checkAgreement(_ preferred: [Token], with other: [Token], preferred url: URL, other otherURL: URL) throws {
        let names = Set(preferred.map(\.name)), otherNames = Set(other.map(\.name))
        guard names == otherNames else {
            let token = names.symmetricDifference(otherNames).sorted().first ?? ""
            throw ConceptError.disagreeingTokenFiles(token: token, path: url.path, otherPath: otherURL.path, reason: "only one of them holds it")
        }
        for token in preferred {
            guard let twin = other.first(where: { $0.name == token.name }) else { continue }
            guard twin.embedding.count == token.embedding.count else {
                throw ConceptError.disagreeingTokenFiles(token: token.name, path: url.path, otherPath: otherURL.path,
                                                         reason: "\(token.embedding.count) values against \(twin.embedding.count)")
            }
            if let i = token.embedding.indices.first(where: { token.embedding[$0] != twin.embedding[$0] }) {
                throw ConceptError.disagreeingTokenFiles(token: token.name, path: url.path, otherPath: otherURL.path,
                                                         reason: "value \(i) is \(token.embedding[i]) against \(twin.embedding[i])")
            }
        }
    }
}
