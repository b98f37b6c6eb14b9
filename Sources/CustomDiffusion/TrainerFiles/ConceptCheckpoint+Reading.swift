import TensorFormats
import Foundation

extension ConceptCheckpoint {
    /// Weight files of a diffusers training output folder, in order of preference.
    public static let diffusersWeightFileNames = ["pytorch_custom_diffusion_weights.safetensors", "pytorch_custom_diffusion_weights.bin"]

    /// Reads a Custom Diffusion output (docs/STORAGE.md §4):
    /// - a diffusers training output folder: `pytorch_custom_diffusion_weights.safetensors` (or `.bin`,
    ///   whose empty attn1 processor dicts hold no tensors) with keys `<layer>.processor.to_k_custom_diffusion.weight`
    ///   = full `W′`, and one `<token>.safetensors|.bin` per modifier token holding `{token: embedding}`
    ///   (a torch-saved embedding is a view into the whole embedding matrix; the torch reader honours
    ///   its storage offset). Passing the weights file itself reads its folder.
    /// - an adobe `delta.bin`: `{'unet': {'<layer>.to_k.weight': W′ | {'u': U·S, 'v': Vᵀ}}, 'modifier_token': {token: emb}}`.
    /// - a CompVis `delta*.ckpt`: `{'state_dict': {'model.diffusion_model.…to_k.weight': W′ | {'u', 'v'}, 'embed': [n, d]}}`.
    ///
    /// `tokenNames` names the tokens in file order: required to name CompVis embeddings (default
    /// `<new1>`, `<new2>`, …), and renames the stored names of the other formats. Its count must match.
    /// Every tensor used is checked for NaN/Inf; layers are not checked against a base here (`validate`).
    public static func read(path: URL, tokenNames: [String]? = nil) throws -> ConceptCheckpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw ConceptError.unreadable(path: path.path, reason: "no such file or directory")
        }
        var checkpoint: ConceptCheckpoint
        if isDirectory.boolValue {
            checkpoint = try readDiffusersFolder(path)
        } else if diffusersWeightFileNames.contains(path.lastPathComponent) {
            checkpoint = try readDiffusersFolder(path.deletingLastPathComponent())
        } else {
            checkpoint = try readSingleFile(path, tokenNames: tokenNames)
        }
        let where_ = path.path
        if let tokenNames {
            guard tokenNames.count == checkpoint.tokens.count else {
                throw ConceptError.tokenCountMismatch(expected: checkpoint.tokens.count, given: tokenNames.count, path: where_)
            }
            for i in checkpoint.tokens.indices { checkpoint.tokens[i].name = tokenNames[i] }
        }
        var seen = Set<String>()
        for token in checkpoint.tokens where !seen.insert(token.name).inserted {
            throw ConceptError.duplicateToken(token.name, path: where_)
        }
        guard !checkpoint.tokens.isEmpty else { throw ConceptError.noTokens(path: where_) }
        return checkpoint
    }

    // MARK: diffusers folder

    static func readDiffusersFolder(_ directory: URL) throws -> ConceptCheckpoint {
        let fm = FileManager.default
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: directory.path).sorted() } catch {
            throw ConceptError.unreadable(path: directory.path, reason: error.localizedDescription)
        }
        guard let weightsName = diffusersWeightFileNames.first(where: names.contains) else {
            throw ConceptError.missingWeightsFile(directory: directory.path)
        }
        let weightsURL = directory.appendingPathComponent(weightsName)
        let archive = try readArchive(weightsURL)
        var weights: [LayerKey: Weight] = [:]
        var ignored: [String] = []
        for (name, tensor) in archive.tensors {
            guard let key = LayerNaming.parse(weightName: name) else { ignored.append(name); continue }
            guard weights[key] == nil else { throw ConceptError.duplicateWeight(key, path: weightsURL.path) }
            weights[key] = .full(try matrix(tensor, name: name, path: weightsURL.path))
        }
        guard !weights.isEmpty else {
            throw ConceptError.unrecognizedFormat(path: weightsURL.path, reason: "no <layer>.processor.to_k_custom_diffusion.weight tensors")
        }
        var tokens: [Token] = []
        var sources = [weightsURL]
        for group in tokenFileGroups(names, in: directory) {
            let url = group[0]
            let read = try tokenEmbeddings(url)
            for other in group.dropFirst() {
                try checkAgreement(read, with: try tokenEmbeddings(other), preferred: url, other: other)
            }
            for token in read {
                if tokens.contains(where: { $0.name == token.name }) { throw ConceptError.duplicateToken(token.name, path: directory.path) }
                tokens.append(token)
            }
            sources.append(url)
        }
        return ConceptCheckpoint(format: .diffusers, weights: weights, tokens: tokens, sourceFiles: sources, ignoredTensors: ignored)
    }

    // MARK: adobe delta.bin / CompVis delta.ckpt

    static func readSingleFile(_ url: URL, tokenNames: [String]?) throws -> ConceptCheckpoint {
        let archive = try readArchive(url)
        let path = url.path
        let isAdobe = archive.tensors.contains { $0.name.hasPrefix("unet.") }
        let isCompVis = archive.tensors.contains { $0.name.hasPrefix("state_dict.") }
        guard isAdobe || isCompVis else {
            throw ConceptError.unrecognizedFormat(path: path, reason: "neither a 'unet' nor a 'state_dict' entry")
        }
        let root = isAdobe ? "unet." : "state_dict."
        var full: [LayerKey: Matrix<Float>] = [:]
        var factors: [LayerKey: (u: Matrix<Float>?, v: Matrix<Float>?)] = [:]
        var tokens: [Token] = []
        var ignored: [String] = []
        for (name, tensor) in archive.tensors {
            if isAdobe, name.hasPrefix("modifier_token.") {
                let token = String(name.dropFirst("modifier_token.".count))
                tokens.append(Token(name: token, embedding: try embedding(tensor, token: token, path: path)))
                continue
            }
            if isCompVis, name == "state_dict.embed" {
                tokens.append(contentsOf: try embeddingRows(tensor, names: tokenNames, path: path))
                continue
            }
            guard name.hasPrefix(root) else { ignored.append(name); continue }
            var weightName = String(name.dropFirst(root.count))
            var part: Character?
            if weightName.hasSuffix(".weight.u") || weightName.hasSuffix(".weight.v") {
                part = weightName.last
                weightName.removeLast(2)
            }
            guard let key = LayerNaming.parse(weightName: weightName) else { ignored.append(name); continue }
            let m = try matrix(tensor, name: name, path: path)
            switch part {
            case nil:
                guard full[key] == nil, factors[key] == nil else { throw ConceptError.duplicateWeight(key, path: path) }
                full[key] = m
            case "u":
                guard full[key] == nil, factors[key]?.u == nil else { throw ConceptError.duplicateWeight(key, path: path) }
                factors[key, default: (nil, nil)].u = m
            default:
                guard full[key] == nil, factors[key]?.v == nil else { throw ConceptError.duplicateWeight(key, path: path) }
                factors[key, default: (nil, nil)].v = m
            }
        }
        var weights = full.mapValues { Weight.full($0) }
        for (key, pair) in factors {
            guard let u = pair.u, let v = pair.v else {
                throw ConceptError.unrecognizedFormat(path: path, reason: "\(key) has only one of the 'u' / 'v' factors")
            }
            guard u.cols == v.rows else { throw ConceptError.wrongShape(key, expected: [u.cols, v.cols], actual: [v.rows, v.cols]) }
            weights[key] = .delta(up: u, down: v)
        }
        guard !weights.isEmpty else {
            throw ConceptError.unrecognizedFormat(path: path, reason: "no attn2 to_k / to_v weights under '\(root.dropLast())'")
        }
        let compressed = !factors.isEmpty
        let format: Format = isAdobe ? (compressed ? .adobeCompressed : .adobe) : (compressed ? .compvisCompressed : .compvis)
        return ConceptCheckpoint(format: format, weights: weights, tokens: tokens, sourceFiles: [url], ignoredTensors: ignored)
    }

    // MARK: Tensor checks

    static func readArchive(_ url: URL) throws -> TensorArchive {
        do { return try TensorFile.read(path: url.path) } catch {
            throw ConceptError.unreadable(path: url.path, reason: (error as? LocalizedError)?.errorDescription ?? String(describing: error))
        }
    }

    static func checked(_ tensor: RawTensor, name: String, path: String) throws {
        guard tensor.dtype.isFloatingPoint else {
            throw ConceptError.notFloatingPoint(tensor: name, dtype: tensor.dtype.rawValue, path: path)
        }
        guard tensor.allFinite() else { throw ConceptError.nonFinite(tensor: name, path: path) }
    }

    static func matrix(_ tensor: RawTensor, name: String, path: String) throws -> Matrix<Float> {
        try checked(tensor, name: name, path: path)
        guard tensor.shape.count == 2, let m = Matrix<Float>(tensor: tensor) else {
            throw ConceptError.unrecognizedFormat(path: path, reason: "\(name) has shape \(tensor.shape), expected a matrix")
        }
        return m
    }

    static func embedding(_ tensor: RawTensor, token: String, path: String) throws -> [Float] {
        try checked(tensor, name: token, path: path)
        let shape = tensor.shape
        guard shape.count == 1 || (shape.count == 2 && shape[0] == 1), tensor.elementCount > 0 else {
            throw ConceptError.badEmbedding(token: token, shape: shape, path: path)
        }
        return try tensor.floats()
    }

    /// CompVis `embed`: one row per token (a 1-D tensor is one token).
    static func embeddingRows(_ tensor: RawTensor, names: [String]?, path: String) throws -> [Token] {
        try checked(tensor, name: "state_dict.embed", path: path)
        guard tensor.elementCount > 0, let m = Matrix<Float>(tensor: tensor) else {
            throw ConceptError.badEmbedding(token: "embed", shape: tensor.shape, path: path)
        }
        return (0..<m.rows).map { i in
            let name = names.flatMap { i < $0.count ? $0[i] : nil } ?? "<new\(i + 1)>"
            return Token(name: name, embedding: m.row(i))
        }
    }
}
