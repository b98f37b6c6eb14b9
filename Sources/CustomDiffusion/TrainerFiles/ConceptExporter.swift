import Foundation
import TensorFormats
#if canImport(Glibc)
import Glibc
#endif

/// The file formats a stored concept (or composition) is exported to (CLI.md "Export formats").
public enum ExportFormat: String, Sendable, CaseIterable, Codable {
    /// `pytorch_custom_diffusion_weights.safetensors` (`save_attn_procs` keys, full `W′`) + `<token>.safetensors`.
    case diffusers
    /// `pytorch_lora_weights.safetensors`, kohya keys, `ΔW` at its stored rank + `<token>.safetensors`.
    case lora
    /// `delta.ckpt`: `{'state_dict': {CompVis names: W′, 'embed': [n, d]}}`.
    case compvis
    /// `delta.bin`: `{'unet': {diffusers names: W′}, 'modifier_token': {token: emb}}`.
    case adobe
}

/// One layer weight to export: the base weight `W0` and the stored `ΔW`.
public struct ExportLayer: Sendable {
    public var layer: CrossAttentionLayer
    public var projection: Projection
    public var base: Matrix<Float>
    public var delta: CompressedDelta
    public init(layer: CrossAttentionLayer, projection: Projection, base: Matrix<Float>, delta: CompressedDelta) {
        self.layer = layer
        self.projection = projection
        self.base = base
        self.delta = delta
    }
    public var key: LayerKey { LayerKey(layer: layer.name, projection: projection) }
}

/// Writes exports. Every file is written to a temporary name in the target directory and renamed into
/// place, so a reader never sees half a file; on failure nothing new is left under the final names.
///
/// The `adobe` format is the original code's `delta.bin` of Kumari et al., CVPR 2023, as
/// `CustomDiffusionPipeline.save_pretrained` in `src/diffusers_model_pipeline.py` writes it (full `W′`
/// per layer) and its `load_model` reads it (docs/METHOD.md §6).
public enum ConceptExporter {
    public static let diffusersWeightsFileName = "pytorch_custom_diffusion_weights.safetensors"
    public static let loraFileName = "pytorch_lora_weights.safetensors"
    public static let compvisFileName = "delta.ckpt"
    public static let adobeFileName = "delta.bin"

    /// Writes `format` into `directory` (created when missing) and returns the files written.
    ///
    /// Full weights are `W′ = W0 + ΔW` in Float32 (`CompressedDelta.applied(to:)`: bit-exact for
    /// lossless storage). The LoRA holds `ΔW` exactly at its stored rank: `lora_down = down` (`r × d`),
    /// `lora_up = up` (`h × r`), in their stored dtype, `alpha = r` (scale `alpha / r = 1`). Layers of lower
    /// rank are padded with zero columns of `up` / zero rows of `down` to the file's largest rank, so every
    /// module has the same `r` and `alpha`: diffusers 0.42 applies one `lora_alpha` to all kohya modules
    /// (its `alpha_pattern` keys keep `.processor.to_k_lora.down.weight` and never match a module), which
    /// scales layers of other ranks wrongly; zero padding changes no product. Dense-stored
    /// deltas get the exact factorisation at full rank with an identity on the smaller side
    /// (`h ≤ d`: `up = I_h`, `down = ΔW`; else `up = ΔW`, `down = I_d`), which reproduces `ΔW` with no
    /// rounding; rank-0 layers are left out. Embedding files are `{token: emb}` safetensors with
    /// metadata `{"format": "pt"}`, as the diffusers trainer writes them.
    public static func export(layers: [ExportLayer], tokens: [ConceptCheckpoint.Token], format: ExportFormat, to directory: URL) throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ConceptError.cannotWrite(path: directory.path, reason: error.localizedDescription)
        }
        let ordered = layers.sorted { $0.key < $1.key }
        switch format {
        case .diffusers:
            let tensors = try ordered.map { (LayerNaming.processorKey($0.key), try $0.delta.applied(to: $0.base).rawTensor()) }
            let weights = directory.appendingPathComponent(diffusersWeightsFileName)
            try writeSafetensors(tensors, metadata: ["format": "pt"], to: weights)
            return [weights] + (try writeEmbeddings(tokens, to: directory))
        case .lora:
            let factors = try ordered.compactMap { layer in try loraFactors(layer.delta).map { (layer.key, $0.0, $0.1) } }
            let rank = factors.map { $0.1.shape[1] }.max() ?? 0
            var tensors: [(String, RawTensor)] = []
            for (key, up, down) in factors {
                let module = LayerNaming.kohyaModuleName(key)
                tensors.append((module + ".alpha", try RawTensor.from(floats: [Float(rank)], shape: [])))
                tensors.append((module + ".lora_down.weight", try padded(down, rows: rank)))
                tensors.append((module + ".lora_up.weight", try padded(up, cols: rank)))
            }
            let file = directory.appendingPathComponent(loraFileName)
            try writeSafetensors(tensors, metadata: ["format": "pt"], to: file)
            return [file] + (try writeEmbeddings(tokens, to: directory))
        case .compvis:
            var entries: [(String, PickleValue)] = []
            for layer in ordered {
                guard let name = LayerNaming.compvisParameterName(layer.key) else {
                    throw ConceptError.unknownLayer(layer.key)
                }
                entries.append((name, .tensor(try layer.delta.applied(to: layer.base).rawTensor())))
            }
            let d = tokens.first?.embedding.count ?? 0
            guard tokens.allSatisfy({ $0.embedding.count == d }) else { throw ConceptError.shapeMismatch("token embeddings of different lengths") }
            entries.append(("embed", .tensor(try RawTensor.from(floats: tokens.flatMap(\.embedding), shape: [tokens.count, d]))))
            let file = directory.appendingPathComponent(compvisFileName)
            try writeTorch(.stringDict([("state_dict", .stringDict(entries))]), to: file)
            return [file]
        case .adobe:
            let unet = try ordered.map { (LayerNaming.parameterName($0.key), PickleValue.tensor(try $0.delta.applied(to: $0.base).rawTensor())) }
            let modifiers = try tokens.map { ($0.name, PickleValue.tensor(try RawTensor.from(floats: $0.embedding, shape: [$0.embedding.count]))) }
            let file = directory.appendingPathComponent(adobeFileName)
            try writeTorch(.stringDict([("unet", .stringDict(unet)), ("modifier_token", .stringDict(modifiers))]), to: file)
            return [file]
        }
    }

    /// `(lora_up h × r, lora_down r × d)` reproducing the stored `ΔW` exactly; `nil` for rank 0.
    static func loraFactors(_ delta: CompressedDelta) throws -> (RawTensor, RawTensor)? {
        switch delta.storage {
        case .factors(let up, let down):
            return delta.rank == 0 ? nil : (up, down)
        case .dense(let t):
            let h = delta.rows, d = delta.cols
            let identity = try Matrix<Float>.identity(Swift.min(h, d)).rawTensor(as: t.dtype)
            return h <= d ? (identity, t) : (t, identity)
        }
    }

    /// `t` (`h × r`) with zero columns appended up to `cols`, same dtype (values copied exactly).
    static func padded(_ t: RawTensor, cols: Int) throws -> RawTensor {
        let h = t.shape[0], r = t.shape[1]
        guard cols > r else { return t }
        let values = try t.floats()
        var out = [Float](repeating: 0, count: h * cols)
        for i in 0..<h { for j in 0..<r { out[i * cols + j] = values[i * r + j] } }
        return try RawTensor.from(floats: out, shape: [h, cols], as: t.dtype)
    }

    /// `t` (`r × d`) with zero rows appended up to `rows`.
    static func padded(_ t: RawTensor, rows: Int) throws -> RawTensor {
        let r = t.shape[0], d = t.shape[1]
        guard rows > r else { return t }
        return try RawTensor.from(floats: try t.floats() + [Float](repeating: 0, count: (rows - r) * d), shape: [rows, d], as: t.dtype)
    }

    static func writeEmbeddings(_ tokens: [ConceptCheckpoint.Token], to directory: URL) throws -> [URL] {
        try tokens.map { token in
            let url = directory.appendingPathComponent("\(token.name).safetensors")
            try writeSafetensors([(token.name, try RawTensor.from(floats: token.embedding, shape: [token.embedding.count]))],
                                 metadata: ["format": "pt"], to: url)
            return url
        }
    }

    static func writeSafetensors(_ tensors: [(String, RawTensor)], metadata: [String: String], to url: URL) throws {
        try atomically(url) { try Safetensors.write(tensors.map { (name: $0.0, tensor: $0.1) }, metadata: metadata, to: $0) }
    }

    /// `TorchCheckpoint.write` is atomic itself (temporary sibling, then rename) and names the
    /// archive's top folder after the file (`delta/`); through `atomically` the folder would carry the
    /// temporary name with its random UUID, and two exports of the same weights would differ.
    static func writeTorch(_ value: PickleValue, to url: URL) throws {
        do {
            try TorchCheckpoint.write(value, to: url.path)
        } catch {
            throw ConceptError.cannotWrite(path: url.path, reason: (error as? LocalizedError)?.errorDescription ?? String(describing: error))
        }
    }

    /// Runs `write` on a temporary sibling path, then renames it onto `url`.
    static func atomically(_ url: URL, _ write: (String) throws -> Void) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        do {
            try write(temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ConceptError.cannotWrite(path: url.path, reason: (error as? LocalizedError)?.errorDescription ?? String(describing: error))
        }
        guard rename(temporary, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw ConceptError.cannotWrite(path: url.path, reason: reason)
        }
    }
}
