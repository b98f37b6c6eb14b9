import Foundation
import Tensors

/// Sharded checkpoints in the Hugging Face layout (`transformers`/`huggingface_hub`
/// `save_torch_state_dict`): an index `model.safetensors.index.json`
///
///     {"metadata": {"total_size": 150, …}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", …}}
///
/// next to the shard files it names.
extension Safetensors {
    /// Reads `indexPath` (any `*.safetensors.index.json`) and every shard it names, as one archive.
    ///
    /// Checks: the index is a JSON object with a `weight_map` object of strings and no duplicate
    /// names; every shard is a plain file name in the index's directory and a valid safetensors
    /// file (each memory-mapped, zero-copy); each weight_map entry exists in its shard; no shard
    /// holds a tensor the weight_map does not assign to it (so no name appears twice).
    ///
    /// Tensors come shard by shard (shards in file-name order, `…-00001-of-…` first), each in
    /// file order. Metadata: the index's `metadata` (strings as they are, numbers and booleans as
    /// their JSON text, nested values skipped), then keys of the shards' `__metadata__` that the
    /// index does not set (first shard wins).
    public static func readSharded(indexPath: String) throws -> TensorArchive {
        let text: Data
        do {
            text = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        } catch {
            throw SafetensorsError.cannotRead(path: indexPath, reason: (error as NSError).localizedDescription)
        }
        let (weightMap, indexMetadata) = try parseIndex([UInt8](text), path: indexPath)
        let directory = URL(fileURLWithPath: indexPath).deletingLastPathComponent()

        let shards = Set(weightMap.map(\.shard)).sorted()
        var assigned: [String: String] = [:]
        for (tensor, shard) in weightMap { assigned[tensor] = shard }

        var tensors: [(name: String, tensor: RawTensor)] = []
        var metadata = indexMetadata
        var loaded = Set<String>()
        for shard in shards {
            let shardPath = directory.appendingPathComponent(shard).path
            let archive = try read(path: shardPath)
            for (name, tensor) in archive.tensors {
                guard !loaded.contains(name) else { throw SafetensorsError.duplicateName(path: shardPath, name: name) }
                guard assigned[name] == shard else { throw SafetensorsError.tensorNotInIndex(path: shardPath, tensor: name) }
                loaded.insert(name)
                tensors.append((name, tensor))
            }
            for (key, value) in archive.metadata where metadata[key] == nil { metadata[key] = value }
        }
        for (tensor, shard) in weightMap where !loaded.contains(tensor) {
            throw SafetensorsError.missingTensorInShard(path: directory.appendingPathComponent(shard).path, tensor: tensor)
        }
        return TensorArchive(format: .safetensors, tensors: tensors, metadata: metadata)
    }

    /// The weight map (in index order) and the index's metadata rendered as strings.
    private static func parseIndex(
        _ bytes: [UInt8], path: String
    ) throws(SafetensorsError) -> (weightMap: [(tensor: String, shard: String)], metadata: [String: String]) {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .invalidIndex(path: path, reason: "not UTF-8 text") }
        let json: SafetensorsJSON
        do {
            json = try SafetensorsJSON.parse(bytes)
        } catch {
            throw .invalidIndex(path: path, reason: "not valid JSON (\(error.description))")
        }
        guard case .object(let members) = json else { throw .invalidIndex(path: path, reason: "expected a JSON object") }
        let weightMapValues = members.filter { $0.key == "weight_map" }
        guard weightMapValues.count == 1, case .object(let entries) = weightMapValues[0].value else {
            throw .invalidIndex(path: path, reason: "expected exactly one \"weight_map\" object")
        }

        var seen = Set<String>()
        var weightMap: [(tensor: String, shard: String)] = []
        for (tensor, value) in entries {
            guard case .string(let shard) = value else {
                throw .invalidIndex(path: path, reason: "weight_map entry \"\(tensor)\" is \(value.typeName), not a file name")
            }
            guard seen.insert(tensor).inserted else { throw .duplicateName(path: path, name: tensor) }
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/"), !shard.contains("\\") else {
                throw .invalidShardName(path: path, shard: shard)
            }
            weightMap.append((tensor, shard))
        }

        var metadata: [String: String] = [:]
        if case .object(let items)? = members.first(where: { $0.key == "metadata" })?.value {
            for (key, value) in items {
                switch value {
                case .string(let text): metadata[key] = text
                case .number(let text): metadata[key] = text
                case .bool(let flag): metadata[key] = flag ? "true" : "false"
                default: continue
                }
            }
        }
        return (weightMap, metadata)
    }
}
