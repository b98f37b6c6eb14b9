import CaptionIndex
import Foundation
import GRDB
import TensorFormats
import TextEncoder

extension Store {
    /// Files of a Hugging Face `CLIPTextModelWithProjection` folder that `encoder add` keeps:
    /// the configuration, the weights (single or sharded safetensors) and the tokenizer, found in
    /// the folder itself or in its `tokenizer/` subfolder (stored under `tokenizer/` either way).
    static let encoderWeightFiles = ["model.safetensors", "model.safetensors.index.json"]
    static let encoderTokenizerFiles = ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
                                        "special_tokens_map.json", "added_tokens.json"]

    /// Registers a CLIP text model with projection (CLI.md `encoder add NAME PATH`) for caption
    /// retrieval: validates `config.json` (`CLIPTextConfiguration`), the presence of the projection
    /// (`text_projection.weight`, `projection_dim × hidden_size`) and of tokenizer files, stores
    /// every file as a blob and records the encoder.
    public func addCaptionEncoder(name: String, path: URL) throws -> CaptionEncoderInfo {
        try Self.validateName(name, kind: "encoder")
        let fm = FileManager.default
        func fail(_ reason: String) -> CaptionError { .invalidEncoder(path: path.path, reason: reason) }
        let configURL = path.appendingPathComponent("config.json")
        guard let configData = fm.contents(atPath: configURL.path) else { throw fail("no config.json") }
        let config: CLIPTextConfiguration
        do { config = try JSONDecoder().decode(CLIPTextConfiguration.self, from: configData) } catch {
            throw fail("config.json: \((error as? LocalizedError)?.errorDescription ?? String(describing: error))")
        }
        // Weights: model.safetensors, or a sharded index and its shards.
        var files: [(relative: String, url: URL)] = [("config.json", configURL)]
        let single = path.appendingPathComponent("model.safetensors")
        let index = path.appendingPathComponent("model.safetensors.index.json")
        var entries: [(name: String, dtype: DType, shape: [Int])] = []
        if fm.fileExists(atPath: single.path) {
            do { entries = try Safetensors.readHeader(path: single.path).entries } catch { throw fail("model.safetensors: \(error.localizedDescription)") }
            files.append(("model.safetensors", single))
        } else if fm.fileExists(atPath: index.path) {
            files.append(("model.safetensors.index.json", index))
            guard let object = try? JSONSerialization.jsonObject(with: Data(contentsOf: index)) as? [String: Any],
                  let map = object["weight_map"] as? [String: String] else { throw fail("model.safetensors.index.json has no weight_map") }
            for shard in Set(map.values).sorted() {
                guard !shard.contains("/"), !shard.hasPrefix(".") else { throw fail("shard name '\(shard)' is not a plain file name") }
                let url = path.appendingPathComponent(shard)
                do { entries += try Safetensors.readHeader(path: url.path).entries } catch { throw fail("\(shard): \(error.localizedDescription)") }
                files.append((shard, url))
            }
        } else {
            throw fail("no model.safetensors (convert .bin weights with `concepts convert` first)")
        }
        guard let projection = entries.first(where: { $0.name.hasSuffix("text_projection.weight") }) else {
            throw fail("no text_projection.weight: this is a CLIPTextModel without projection")
        }
        guard projection.shape == [config.projectionDim, config.hiddenSize] else {
            throw fail("text_projection.weight has shape \(projection.shape), config.json says [\(config.projectionDim), \(config.hiddenSize)]")
        }
        let tokenizerDirectory = fm.fileExists(atPath: path.appendingPathComponent("tokenizer/vocab.json").path)
            || fm.fileExists(atPath: path.appendingPathComponent("tokenizer/tokenizer.json").path)
            ? path.appendingPathComponent("tokenizer") : path
        do { _ = try CLIPTokenizer.load(directory: tokenizerDirectory) } catch {
            throw fail("tokenizer: \((error as? LocalizedError)?.errorDescription ?? String(describing: error))")
        }
        for file in Self.encoderTokenizerFiles where fm.fileExists(atPath: tokenizerDirectory.appendingPathComponent(file).path) {
            files.append(("tokenizer/" + file, tokenizerDirectory.appendingPathComponent(file)))
        }

        let lock = try StoreLock(store: root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }
        if try database.read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM caption_encoder WHERE name = ?", arguments: [name]) }) != nil {
            throw CaptionError.encoderExists(name)
        }
        var stored: [(String, BlobStore.PutResult)] = []
        for file in files {
            let bytes: ByteBuffer
            do { bytes = try MappedFile.map(path: file.url.path) } catch { throw fail("\(file.relative): \(error.localizedDescription)") }
            stored.append((file.relative, try bytes.withUnsafeBytes { try blobs.put($0) }))
        }
        try database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM caption_encoder WHERE name = ?", arguments: [name]) != nil {
                throw CaptionError.encoderExists(name)
            }
            try db.execute(sql: "INSERT INTO caption_encoder (name, source_path, hidden_size, projection_dim, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, path.path, config.hiddenSize, config.projectionDim, CaptionClock.now()])
            let id = db.lastInsertedRowID
            for (relative, put) in stored {
                try Self.recordBlob(put, in: db)
                try db.execute(sql: "INSERT INTO caption_encoder_file (encoder_id, path, blob) VALUES (?, ?, ?)", arguments: [id, relative, put.sha256])
            }
        }
        return CaptionEncoderInfo(name: name, hiddenSize: config.hiddenSize, projectionDim: config.projectionDim)
    }

    /// A registered encoder.
    public func captionEncoder(named name: String) throws -> CaptionEncoderInfo {
        let row = try database.read { db in try Row.fetchOne(db, sql: "SELECT * FROM caption_encoder WHERE name = ?", arguments: [name]) }
        guard let row else { throw CaptionError.unknownEncoder(name) }
        return CaptionEncoderInfo(name: row["name"], hiddenSize: row["hidden_size"], projectionDim: row["projection_dim"])
    }

    /// Every registered encoder, by name.
    public func captionEncoders() throws -> [CaptionEncoderInfo] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM caption_encoder ORDER BY name").map {
                CaptionEncoderInfo(name: $0["name"], hiddenSize: $0["hidden_size"], projectionDim: $0["projection_dim"])
            }
        }
    }

    /// The encoder used when none is named: the only registered one (of width `dimension` when given).
    func defaultCaptionEncoderName(forDimension dimension: Int?) throws -> String {
        let candidates = try captionEncoders().filter { dimension == nil || $0.projectionDim == dimension }
        switch candidates.count {
        case 1: return candidates[0].name
        case 0: throw CaptionError.noEncoder(projectionDim: dimension)
        default: throw CaptionError.ambiguousEncoder(candidates.map(\.name))
        }
    }

    /// The encoder's stored files written to `<store>/cache/encoders/<name>-<config hash>/` (once),
    /// so that the TextEncoder loaders can read them from a folder.
    func materializeCaptionEncoder(named name: String) throws -> URL {
        let rows = try database.read { db -> [Row] in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM caption_encoder WHERE name = ?", arguments: [name]) else {
                throw CaptionError.unknownEncoder(name)
            }
            return try Row.fetchAll(db, sql: "SELECT path, blob FROM caption_encoder_file WHERE encoder_id = ? ORDER BY path", arguments: [id])
        }
        let key = rows.map { "\($0["path"] as String)=\($0["blob"] as String)" }.joined(separator: "\n")
        let directory = root.appendingPathComponent("cache/encoders/\(name)-\(BlobStore.digestString(key).prefix(16))", isDirectory: true)
        let done = directory.appendingPathComponent(".complete")
        if FileManager.default.fileExists(atPath: done.path) { return directory }
        for row in rows {
            let relative: String = row["path"]
            let target = directory.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try blobs.get(row["blob"]).write(to: target, options: .atomic)
        }
        _ = FileManager.default.createFile(atPath: done.path, contents: Data())
        return directory
    }
}

extension BlobStore {
    /// Hex SHA-256 of a string's UTF-8 bytes.
    static func digestString(_ text: String) -> String { Array(text.utf8).withUnsafeBytes { digest($0) } }
}
