import CaptionIndex
import Foundation
import GRDB
import TextEncoder

extension Store {
    /// The CLIP tokenizer and text model of base model `name`, from what `base add` stored: the
    /// `text_encoder` component's tensors (`base_tensor`), `text_encoder/config.json` and the
    /// `tokenizer/` files (`base_file`). A CompVis single file stores neither file: its OpenAI CLIP
    /// tower (SD 1.x) is configured from the tensor shapes and tokenized with CLIP's bundled merges
    /// (`CLIPTextConfiguration.openAICLIP`, `CLIPTokenizer.bundledOpenAICLIP`).
    ///
    /// Tensors are decompressed one at a time as the model packs them (fp16 stays fp16), so memory
    /// holds the packed model plus one tensor. `vocabulary`, given the tokenizer and configuration, names the token ids
    /// that will be encoded: only those rows of the token embedding matrix are kept (`register`'s merge
    /// keys need a dozen of CLIP's 49,408).
    public func textEncoder(forBase name: String, vocabulary: ((CLIPTokenizer, CLIPTextConfiguration) throws -> Set<Int32>)? = nil)
        throws -> (tokenizer: CLIPTokenizer, model: CLIPTextModel) {
        let (baseID, tensorRows, files) = try database.read { db -> (Int64, [Row], [Row]) in
            let id = try Self.baseID(named: name, in: db)
            let tensors = try Row.fetchAll(db, sql: "SELECT name, shape FROM base_tensor WHERE base_id = ? AND component = 'text_encoder' ORDER BY name", arguments: [id])
            let files = try Row.fetchAll(db, sql: "SELECT path, blob FROM base_file WHERE base_id = ? AND (path LIKE 'tokenizer/%' OR path = 'text_encoder/config.json')", arguments: [id])
            return (id, tensors, files)
        }
        func fail(_ reason: String) -> CaptionError { .encoderUnusable(name: "base '\(name)'", reason: reason) }
        guard !tensorRows.isEmpty else { throw fail("no text encoder tensors were stored") }
        let tensorNames = Set(tensorRows.map { $0["name"] as String })
        let configData = try baseFile(baseID: baseID, path: "text_encoder/config.json")
        let tokenizerFiles = files.filter { ($0["path"] as String).hasPrefix("tokenizer/") }
        do {
            let configuration: CLIPTextConfiguration
            let tokenizer: CLIPTokenizer
            if let configData {
                configuration = try JSONDecoder().decode(CLIPTextConfiguration.self, from: configData)
                tokenizer = try storedTokenizer(files: files, tokenizerFiles: tokenizerFiles, fail: fail)
            } else {
                // A CompVis single file: no config.json and no tokenizer files. An OpenAI CLIP tower (SD 1.x) is
                // recognised from its tensor shapes and gets CLIP's own tokenizer.
                guard tokenizerFiles.isEmpty else { throw fail("tokenizer files but no text_encoder/config.json") }
                var shapes: [String: [Int]] = [:]
                for row in tensorRows { shapes[row["name"]] = JSONShape.decode(row["shape"]) }
                do {
                    configuration = try CLIPTextConfiguration.openAICLIP(tensorShapes: shapes)
                } catch {
                    throw fail("no text_encoder/config.json, and the text encoder is not recognisable as an OpenAI CLIP tower: "
                        + ((error as? LocalizedError)?.errorDescription ?? String(describing: error)))
                }
                tokenizer = try CLIPTokenizer.bundledOpenAICLIP()
            }
            let ids = try vocabulary.map { try $0(tokenizer, configuration).union([tokenizer.bosID, tokenizer.eosID, tokenizer.padID]) }
            let model = try CLIPTextModel(configuration: configuration, tensorNames: tensorNames, tokenIDs: ids) { tensor in
                tensorNames.contains(tensor) ? try baseTensor(baseID: baseID, component: "text_encoder", name: tensor) : nil
            }
            return (tokenizer, model)
        } catch let error as CaptionError {
            throw error
        } catch let error as RegistryError {
            throw error
        } catch {
            throw fail((error as? LocalizedError)?.errorDescription ?? String(describing: error))
        }
    }

    /// The base's stored tokenizer files, materialised once under `cache/base-tokenizers/` (the
    /// tokenizer loader reads a folder).
    private func storedTokenizer(files: [Row], tokenizerFiles: [Row], fail: (String) -> CaptionError) throws -> CLIPTokenizer {
        let key = files.map { "\($0["path"] as String)=\($0["blob"] as String)" }.sorted().joined(separator: "\n")
        let directory = root.appendingPathComponent("cache/base-tokenizers/\(BlobStore.digestString(key).prefix(16))", isDirectory: true)
        guard !tokenizerFiles.isEmpty else { throw fail("no tokenizer/ files were stored") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in tokenizerFiles {
            let relative = String((file["path"] as String).dropFirst("tokenizer/".count))
            guard !relative.contains("/"), !relative.hasPrefix(".") else { continue }
            let target = directory.appendingPathComponent(relative)
            if !FileManager.default.fileExists(atPath: target.path) { try blobs.get(file["blob"]).write(to: target, options: .atomic) }
        }
        return try CLIPTokenizer.load(directory: directory)
    }
}
