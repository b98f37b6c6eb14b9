import CaptionIndex
import CustomDiffusion
import Foundation
import Tensors

/// `regset export` result: the files written and how many images are present locally.
public struct RegsetExportResult: Codable, Sendable, Equatable {
    public let files: [String]
    public let captions: Int
    /// Captions whose `path` pointed at a local image, copied into `images/`.
    public let imagesCopied: Int
    /// Captions whose image must still be downloaded (from `urls.txt`) to the path in `images.txt`.
    public let imagesMissing: Int
    enum CodingKeys: String, CodingKey {
        case files, captions
        case imagesCopied = "images_copied"
        case imagesMissing = "images_missing"
    }
}

extension Store {
    // MARK: Creating

    /// `regset create NAME --base B --query TEXT…`: the union of each query's search results in
    /// caption set `set` (best similarity first), and Σ for the base's text encoder.
    public func createRegset(name: String, base: String, queries: [String], set: String? = nil, encoder: String? = nil,
                             threshold: Float = Store.defaultCaptionThreshold, limit: Int = Store.defaultCaptionLimit) throws -> RegsetCreateResult {
        guard !queries.isEmpty else { throw CaptionError.invalidArgument("a retrieved regularization set needs at least one query") }
        var best: [Int64: CaptionMatch] = [:]
        for query in queries {
            for match in try searchCaptions(text: query, set: set, encoder: encoder, threshold: threshold, limit: limit).results
            where (best[match.id]?.similarity ?? -2) < match.similarity {
                best[match.id] = match
            }
        }
        guard !best.isEmpty else {
            throw CaptionError.emptyRegset("no caption of set '\(set ?? "default")' reaches similarity \(threshold) for \(queries.map { "'\($0)'" }.joined(separator: ", "))")
        }
        let items = best.values.sorted { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.id < $1.id }
            .map { RegsetInfo.Caption(caption: $0.caption, url: $0.url, path: $0.path, similarity: $0.similarity) }
        return try storeRegset(name: name, source: "query", items: items, base: base)
    }

    /// `regset create NAME --base B --from-file FILE`: the captions listed in a caption file
    /// (`.txt`, `.jsonl`, `.csv`, `.tsv`, as `captions import` reads them), in file order.
    public func createRegset(name: String, base: String, fromFile path: String) throws -> RegsetCreateResult {
        let records = try CaptionFileReader(path: path).readAll()
        guard !records.isEmpty else { throw CaptionError.emptyCaptionFile(path: path) }
        return try storeRegset(name: name, source: "file",
                               items: records.map { RegsetInfo.Caption(caption: $0.caption, url: $0.url, path: $0.path, similarity: nil) }, base: base)
    }

    /// The shipped default regularization set (`DefaultRegularizationCaptions`), created on first
    /// use, with Σ for `base` computed and stored on first use for that base.
    @discardableResult
    public func defaultRegularizationSet(forBase base: String) throws -> RegsetCreateResult {
        let name = DefaultRegularizationCaptions.name
        if (try? regset(named: name)) == nil {
            let items = DefaultRegularizationCaptions.captions.map { RegsetInfo.Caption(caption: $0, url: "", path: "", similarity: nil) }
            do { return try storeRegset(name: name, source: "default", items: items, base: base, reservedOK: true) } catch CaptionError.regsetExists {
                // Created concurrently by another process: fall through and use it.
            }
        }
        let (_, rows) = try regularizationGram(set: name, base: base)
        return RegsetCreateResult(name: name, captions: try regset(named: name).captions, featureRows: rows)
    }

    /// Σ = Cregᵀ Creg of regularization set `set` (nil: the shipped default set) for `base`'s text
    /// encoder, and the rows of Creg — computed and stored on first use (docs/METHOD.md). For the
    /// composition engine.
    public func regularizationGram(set: String?, base: String) throws -> (sigma: Matrix<Double>, rows: Int) {
        let name = set ?? DefaultRegularizationCaptions.name
        if set == nil, (try? regset(named: name)) == nil { try defaultRegularizationSet(forBase: base) }
        let (regsetID, baseID, stored) = try catalog.read { connection -> (Int64, Int64, RegsetGramRecord?) in
            guard let id = try connection.fetchValue("SELECT id FROM regset WHERE name = ?", [name], as: Int64.self) else {
                throw CaptionError.unknownRegset(name)
            }
            let baseID = try Self.baseID(named: base, in: connection)
            return (id, baseID, try connection.fetchOne(RegsetGramRecord.self, "SELECT * FROM regset_gram WHERE regset_id = ? AND base_id = ?", [id, baseID]))
        }
        if let stored {
            guard let sigma = RegularizationFeatures.decode(stored.gram, dimension: stored.dimension) else {
                throw RegistryError.malformedRow(table: "regset_gram", reason: "regset '\(name)': stored Σ for base '\(base)' has the wrong size")
            }
            return (sigma, stored.featureRows)
        }
        let captions = try catalog.read { connection in
            try connection.fetchColumn("SELECT caption FROM regset_caption WHERE regset_id = ? ORDER BY position", [regsetID], as: String.self)
        }
        let (tokenizer, model) = try textEncoder(forBase: base)
        let (sigma, rows) = try RegularizationFeatures.gram(of: captions, tokenizer: tokenizer, model: model)
        _ = try catalog.write { connection in
            try connection.insert(RegsetGramRecord(regsetID: regsetID, baseID: baseID, dimension: sigma.rows, featureRows: rows,
                                                   gram: RegularizationFeatures.encode(sigma), createdAt: CaptionClock.now()),
                                  into: "regset_gram", "ON CONFLICT (regset_id, base_id) DO NOTHING")
        }
        return (sigma, rows)
    }

    /// Computes Σ for `base`, then writes the set, its captions and Σ in one transaction.
    private func storeRegset(name: String, source: String, items: [RegsetInfo.Caption], base: String, reservedOK: Bool = false) throws -> RegsetCreateResult {
        try Self.validateName(name, kind: "regularization set")
        if !reservedOK, name == DefaultRegularizationCaptions.name {
            throw CaptionError.invalidArgument("'\(name)' is the shipped default regularization set; choose another name")
        }
        let exists = try catalog.read { connection in try connection.exists("SELECT 1 FROM regset WHERE name = ?", [name]) }
        if exists { throw CaptionError.regsetExists(name) }
        let baseID = try catalog.read { connection in try Self.baseID(named: base, in: connection) }
        let (tokenizer, model) = try textEncoder(forBase: base)
        let (sigma, rows) = try RegularizationFeatures.gram(of: items.map(\.caption), tokenizer: tokenizer, model: model)
        let now = CaptionClock.now()
        try catalog.write { connection in
            guard let id = try connection.insertReturningID(RegsetRecord(id: nil, name: name, source: source, createdAt: now), into: "regset",
                                                            "ON CONFLICT (name) DO NOTHING")
            else { throw CaptionError.regsetExists(name) }
            let insert = try connection.prepare("INSERT INTO regset_caption (regset_id, position, caption, url, path, similarity) VALUES (?, ?, ?, ?, ?, ?)")
            for (position, item) in items.enumerated() {
                try insert.execute([id, position, item.caption, item.url, item.path, item.similarity])
            }
            try connection.insert(RegsetGramRecord(regsetID: id, baseID: baseID, dimension: sigma.rows, featureRows: rows,
                                                   gram: RegularizationFeatures.encode(sigma), createdAt: now), into: "regset_gram")
        }
        return RegsetCreateResult(name: name, captions: items.count, featureRows: rows)
    }

    // MARK: Listing

    public func regsets() throws -> [RegsetInfo] {
        let names = try catalog.read { connection in try connection.fetchColumn("SELECT name FROM regset ORDER BY name", as: String.self) }
        return try names.map { try regset(named: $0, withCaptions: false) }
    }

    public func regset(named name: String, withCaptions: Bool = true) throws -> RegsetInfo {
        try catalog.read { connection in
            guard let regset = try connection.fetchOne(RegsetRecord.self, "SELECT * FROM regset WHERE name = ?", [name]), let id = regset.id
            else { throw CaptionError.unknownRegset(name) }
            let count = try connection.fetchValue("SELECT COUNT(*) FROM regset_caption WHERE regset_id = ?", [id], as: Int.self) ?? 0
            let grams = try connection.fetchAll("""
                SELECT b.name, g.dimension, g.feature_rows FROM regset_gram g JOIN base_model b ON b.id = g.base_id WHERE g.regset_id = ? ORDER BY b.name
                """, [id]).map { RegsetInfo.Gram(base: try $0.value("name"), dimension: try $0.value("dimension"), featureRows: try $0.value("feature_rows")) }
            let items = withCaptions ? try connection.fetchAll(RegsetCaptionRecord.self, "SELECT * FROM regset_caption WHERE regset_id = ? ORDER BY position", [id]).map {
                RegsetInfo.Caption(caption: $0.caption, url: $0.url, path: $0.path, similarity: $0.similarity)
            } : nil
            return RegsetInfo(name: name, source: regset.source, captions: count, createdAt: regset.createdAt, grams: grams, items: items)
        }
    }

    // MARK: Export

    /// Writes what diffusers' `examples/custom_diffusion/train_custom_diffusion.py` reads from
    /// `--class_data_dir` with `--real_prior` (the layout its `retrieve.py` produces):
    /// `caption.txt` (one caption per line), `urls.txt` (one image URL per line) and `images.txt`
    /// (one image path per line, `DIR/images/<i>.jpg`, or the image's own extension), plus `images/`
    /// into which local images (a caption's `path`) are copied. Line i of each file is caption i.
    /// Line breaks inside captions become spaces (the trainer splits the files on lines).
    public func exportRegset(name: String, to directory: URL) throws -> RegsetExportResult {
        guard let items = try regset(named: name).items else { throw CaptionError.unknownRegset(name) }
        let fm = FileManager.default
        let images = directory.appendingPathComponent("images", isDirectory: true)
        do { try fm.createDirectory(at: images, withIntermediateDirectories: true) } catch {
            throw CaptionError.io(path: images.path, reason: error.localizedDescription)
        }
        var captions: [String] = [], urls: [String] = [], paths: [String] = []
        var copied = 0, missing = 0
        for (i, item) in items.enumerated() {
            captions.append(Self.oneLine(item.caption))
            urls.append(Self.oneLine(item.url))
            let source = item.path.isEmpty ? nil : URL(fileURLWithPath: item.path)
            let ext = source.map { $0.pathExtension.isEmpty ? "jpg" : $0.pathExtension.lowercased() } ?? "jpg"
            let target = images.appendingPathComponent("\(i).\(ext)")
            if let source, fm.fileExists(atPath: source.path) {
                try? fm.removeItem(at: target)
                do { try fm.copyItem(at: source, to: target) } catch { throw CaptionError.io(path: source.path, reason: error.localizedDescription) }
                copied += 1
            } else {
                missing += 1
            }
            paths.append(target.path)
        }
        var files: [String] = []
        for (file, lines) in [("caption.txt", captions), ("urls.txt", urls), ("images.txt", paths)] {
            let url = directory.appendingPathComponent(file)
            do { try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic) } catch {
                throw CaptionError.io(path: url.path, reason: error.localizedDescription)
            }
            files.append(url.path)
        }
        return RegsetExportResult(files: files, captions: items.count, imagesCopied: copied, imagesMissing: missing)
    }

    static func oneLine(_ text: String) -> String {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }).joined(separator: " ")
    }
}
