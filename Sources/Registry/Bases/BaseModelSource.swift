import Foundation
import TensorFormats
import Tensors

/// Where a base model's tensors and files come from (CLI.md "Base models"): a diffusers pipeline
/// folder (`unet/`, `text_encoder/`, `vae/`, `tokenizer/`, …) or a CompVis single-file checkpoint.
struct BaseModelSource {
    enum Format: String { case diffusers, compvis }

    /// One group of tensors (a pipeline component), read lazily one file set at a time.
    struct Component {
        let name: String
        let files: [URL]
        let read: () throws -> TensorArchive
    }

    let format: Format
    let components: [Component]
    /// Non-tensor files to keep (configs, tokenizer), by path relative to the source.
    let files: [(relativePath: String, url: URL)]

    /// Weight file names diffusers writes, most preferred first (full precision before the `.fp16`
    /// variant, single files before sharded indexes, safetensors before torch pickles).
    static let weightFileCandidates: [String] = [
        "diffusion_pytorch_model.safetensors", "model.safetensors",
        "diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json",
        "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors",
        "diffusion_pytorch_model.safetensors.index.fp16.json", "model.safetensors.index.fp16.json",
        "diffusion_pytorch_model.fp16.safetensors.index.json", "model.fp16.safetensors.index.json",
        "diffusion_pytorch_model.bin", "pytorch_model.bin", "diffusion_pytorch_model.fp16.bin", "pytorch_model.fp16.bin",
    ]

    static func open(_ path: URL) throws -> BaseModelSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw RegistryError.invalidBase(path: path.path, reason: "no such file or directory")
        }
        return isDirectory.boolValue ? try diffusersFolder(path) : try compvisFile(path)
    }

    /// A diffusers pipeline folder: every sub-folder with a weight file is a component; every
    /// `.json`/`.txt` file (model_index, configs, tokenizer) is kept.
    static func diffusersFolder(_ root: URL) throws -> BaseModelSource {
        let fm = FileManager.default
        guard fm.fileExists(atPath: root.appendingPathComponent("unet").path) else {
            throw RegistryError.invalidBase(path: root.path, reason: "a diffusers pipeline folder needs a unet/ sub-folder")
        }
        var components: [Component] = []
        var files: [(String, URL)] = []
        let keptExtensions: Set<String> = ["json", "txt", "model"]
        for entry in try fm.contentsOfDirectory(atPath: root.path).sorted() {
            let url = root.appendingPathComponent(entry)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }  // vanished since the listing
            if !isDir.boolValue {
                if keptExtensions.contains(url.pathExtension) { files.append((entry, url)) }
                continue
            }
            let names = try fm.contentsOfDirectory(atPath: url.path).sorted()
            for name in names where keptExtensions.contains((name as NSString).pathExtension) && !name.hasSuffix(".index.json") && !name.contains(".index.") {
                files.append(("\(entry)/\(name)", url.appendingPathComponent(name)))
            }
            guard let weights = weightFileCandidates.first(where: { names.contains($0) }) else { continue }
            let weightURL = url.appendingPathComponent(weights)
            let shardFiles = weights.contains(".index") ? try shardList(weightURL) : [weightURL]
            components.append(Component(name: entry, files: shardFiles) {
                weights.contains(".index") ? try Safetensors.readSharded(indexPath: weightURL.path) : try TensorFile.read(path: weightURL.path)
            })
        }
        guard components.contains(where: { $0.name == "unet" }) else {
            throw RegistryError.invalidBase(path: root.path, reason: "unet/ holds no weight file (looked for \(weightFileCandidates.joined(separator: ", ")))")
        }
        return BaseModelSource(format: .diffusers, components: components, files: files)
    }

    /// The shard files a `*.index.json` names (for hashing the source; reading goes through `readSharded`).
    static func shardList(_ index: URL) throws -> [URL] {
        guard let data = FileManager.default.contents(atPath: index.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = object["weight_map"] as? [String: String]
        else { throw RegistryError.invalidBase(path: index.path, reason: "not a sharded-checkpoint index (no weight_map)") }
        return Set(map.values).sorted().map { index.deletingLastPathComponent().appendingPathComponent($0) }
    }

    /// A CompVis single file: tensors are split into components by their key prefix
    /// (`model.diffusion_model.` → unet, `cond_stage_model.` → text_encoder, `first_stage_model.` → vae).
    static func compvisFile(_ file: URL) throws -> BaseModelSource {
        let archive = try TensorFile.read(path: file.path)
        guard archive.tensors.contains(where: { $0.name.hasPrefix("model.diffusion_model.") || $0.name.hasPrefix("state_dict.model.diffusion_model.") }) else {
            throw RegistryError.invalidBase(path: file.path, reason: "no model.diffusion_model.* tensors: not a CompVis Stable Diffusion checkpoint")
        }
        // Torch checkpoints nest everything under `state_dict`.
        let tensors = archive.tensors.map { entry -> (name: String, tensor: RawTensor) in
            (entry.name.hasPrefix("state_dict.") ? String(entry.name.dropFirst("state_dict.".count)) : entry.name, entry.tensor)
        }
        var groups: [String: [(name: String, tensor: RawTensor)]] = [:]
        for entry in tensors { groups[compvisComponent(entry.name), default: []].append(entry) }
        let components = groups.keys.sorted().map { key in
            let group = groups[key] ?? []
            return Component(name: key, files: [file]) { TensorArchive(format: archive.format, tensors: group, metadata: archive.metadata) }
        }
        return BaseModelSource(format: .compvis, components: components, files: [])
    }

    static func compvisComponent(_ name: String) -> String {
        if name.hasPrefix("model.diffusion_model.") { return "unet" }
        if name.hasPrefix("cond_stage_model.") { return "text_encoder" }
        if name.hasPrefix("first_stage_model.") { return "vae" }
        return "other"
    }
}
