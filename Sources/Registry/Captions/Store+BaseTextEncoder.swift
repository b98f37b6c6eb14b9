import Foundation
import GRDB
import TextEncoder

extension Store {
    /// The CLIP tokenizer and text model of base model `name`, from what `base add` stored: the
    /// `text_encoder` component's tensors (`base_tensor`), `text_encoder/config.json` and the
    /// `tokenizer/` files (`base_file`). A CompVis single file stores neither file: its OpenAI CLIP
    /// tower (SD 1.x) is configured from the tensor shapes and tokenized with CLIP's bundled merges
    /// (`CLIPTextConfiguration.openAICLIP`, `CLIPTokenizer.bundledOpenAICLIP`).
    public func textEncoder(forBase name: String) throws -> (tokenizer: CLIPTokenizer, model: CLIPTextModel) {
        let (baseID, tensorNames, files) = try database.read { db -> (Int64, [String], [Row]) in
            let id = try Self.baseID(named: name, in: db)
            let names = try String.fetchAll(db, sql: "SELECT name FROM base_tensor WHERE base_id = ? AND component = 'text_encoder' ORDER BY name", arguments: [id])
            let files = try Row.fetchAll(db, sql: "SELECT path, blob FROM base_file WHERE base_id = ? AND (path LIKE 'tokenizer/%' OR path = 'text_encoder/config.json')", arguments: [id])
            return (id, names, files)
        }
        func fail(_ reason: String) -> CaptionError { .noEncoder("base '\(name)': \(reason)") }
        guard !tensorNames.isEmpty else { throw fail("no text encoder tensors were stored") }
        let configData = try baseFile(baseID: baseID, path: "text_encoder/config.json")
        let tokenizerFiles = files.filter { ($0["path"] as String).hasPrefix("tokenizer/") }
        do {
            var weights: [String: RawTensor] = [:]
            for tensor in tensorNames { weights[tensor] = try baseTensor(baseID: baseID, component: "text_encoder", name: tensor) }
            guard let configData else {
                // A CompVis single file: no config.json and no tokenizer files. An OpenAI CLIP tower (SD 1.x) is
                // recognised from its tensor shapes and gets CLIP's own tokenizer.
                guard tokenizerFiles.isEmpty else { throw fail("tokenizer files but no text_encoder/config.json") }
                let configuration: CLIPTextConfiguration
                do {
                    configuration = try CLIPTextConfiguration.openAICLIP(tensorShapes: weights.mapValues(\.shape))
                } catch {
                    throw fail("no text_encoder/config.json, and the text encoder is not recognisable as an OpenAI CLIP tower: "
                        + ((error as? LocalizedError)?.errorDescription ?? String(describing: error)))
                }
                return (try CLIPTokenizer.bundledOpenAICLIP(), try CLIPTextModel(configuration: configuration, weights: weights))
            }
            let configuration = try JSONDecoder().decode(CLIPTextConfiguration.self, from: configData)
            let model = try CLIPTextModel(configuration: configuration, weights: weights)
            // The tokenizer loader reads a folder: materialise the stored files once.
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
            return (try CLIPTokenizer.load(directory: directory), model)
        } catch let error as CaptionError {
            throw error
        } catch let error as RegistryError {
            throw error
        } catch {
            throw fail((error as? LocalizedError)?.errorDescription ?? String(describing: error))
        }
    }
}
