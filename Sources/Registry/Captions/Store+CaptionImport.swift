import Foundation

/// One batch of an import: the records and the fp16 embeddings of those that have one.
struct EncodedCaptions: Sendable {
    var records: [CaptionRecord]
    var embeddings: [Data]
}

/// Where an import's embeddings come from.
public enum CaptionEmbeddingSource: Sendable {
    /// A NumPy `.npy` (float16/float32, one row per caption in file order).
    case numpy(path: String)
    /// Computed here with a registered encoder (nil: the set's encoder, else the only one registered).
    case encoder(String?)
}

extension Store {
    /// Imports the captions of `file` into caption set `set` (created on first use), with embeddings
    /// from `source`, in ONE transaction: any bad record, row or value rolls everything back.
    ///
    /// Embeddings are validated (rows = captions, dimension = the encoder's `projection_dim` when an
    /// encoder is named or the set's dimension when it exists, finite, non-zero norm) and stored
    /// L2-normalised as fp16; exact duplicate captions (within the file or already in the set) are
    /// skipped and counted. With `.numpy` and an `encoder` name, the encoder is only used to check
    /// the dimension and is recorded as the set's query encoder.
    public func importCaptions(file: String, set: String = "default", source: CaptionEmbeddingSource,
                               encoder validatingEncoder: String? = nil,
                               progress: ((Int) -> Void)? = nil) throws -> CaptionImportResult {
        try Self.validateName(set, kind: "caption set")
        let reader = try CaptionFileReader(path: file)
        let existing = try catalog.read { connection in
            try connection.fetchOne(CaptionSetRecord.self, "SELECT * FROM caption_set WHERE name = ?", [set])
        }
        let existingDimension = existing?.dimension
        let existingEncoder = existing?.encoder

        // The embedder for batches of captions, and the encoder recorded for the set.
        var encoderName: String?
        let dimension: Int
        let embedBatch: ([CaptionRecord], Int, inout [Float]) throws -> Void
        var numpy: NumpyMatrixFile?
        switch source {
        case .numpy(let path):
            let matrix = try NumpyMatrixFile(path: path)
            numpy = matrix
            dimension = matrix.columns
            encoderName = validatingEncoder ?? existingEncoder
            if let name = validatingEncoder {
                let info = try captionEncoder(named: name)
                guard info.projectionDim == dimension else {
                    throw CaptionError.embeddingDimensionMismatch(path: path, dimension: dimension, expected: info.projectionDim,
                                                                  reason: "the projection size of encoder '\(name)'")
                }
            }
            embedBatch = { batch, firstRow, out in
                out.withUnsafeMutableBufferPointer { buffer in
                    for k in 0..<batch.count where firstRow + k < matrix.rows {
                        matrix.readRow(firstRow + k, into: UnsafeMutableBufferPointer(rebasing: buffer[(k * dimension)..<((k + 1) * dimension)]))
                    }
                }
                if firstRow % 65_536 < batch.count, firstRow > 0 { matrix.release(rows: 0..<min(firstRow, matrix.rows)) }
            }
        case .encoder(let requested):
            let name = try requested ?? existingEncoder ?? defaultCaptionEncoderName(forDimension: existingDimension)
            let loaded = try loadCaptionEncoder(named: name)
            encoderName = name
            dimension = loaded.projectionDim
            embedBatch = { batch, _, out in
                let vectors = try loaded.embed(batch.map(\.caption))
                for (k, v) in vectors.enumerated() { out.replaceSubrange((k * dimension)..<((k + 1) * dimension), with: v) }
            }
        }
        if let existingDimension, existingDimension != dimension {
            throw CaptionError.embeddingDimensionMismatch(path: numpy?.path ?? file, dimension: dimension, expected: existingDimension,
                                                          reason: "caption set '\(set)' holds embeddings of that width")
        }
        if let existingEncoder, let encoderName, existingEncoder != encoderName {
            throw CaptionError.invalidArgument("caption set '\(set)' was embedded with encoder '\(existingEncoder)', not '\(encoderName)'")
        }
        let embeddingsPath = numpy?.path ?? file

        // Reading, embedding and fp16 encoding run on a producer thread, overlapping the inserts.
        let batchSize = numpy == nil ? 64 : 1024
        nonisolated(unsafe) let embed = embedBatch
        let numpyRows = numpy?.rows ?? Int.max
        let pipeline = CaptionImportPipeline<EncodedCaptions> { push in
            var rows = 0
            var batch: [CaptionRecord] = []
            var vectors: [Float] = []
            func flush() throws -> Bool {
                guard !batch.isEmpty else { return true }
                vectors = [Float](repeating: 0, count: batch.count * dimension)
                try embed(batch, rows, &vectors)
                var embeddings: [Data] = []
                embeddings.reserveCapacity(batch.count)
                try vectors.withUnsafeBufferPointer { all in
                    for k in 0..<batch.count {
                        let row = rows + k
                        if row >= numpyRows { break }  // counted; reported after the loop
                        do {
                            embeddings.append(try CaptionEmbedding.encode(UnsafeBufferPointer(rebasing: all[(k * dimension)..<((k + 1) * dimension)])))
                        } catch CaptionEmbedding.Problem.nonFinite {
                            throw CaptionError.nonFiniteEmbedding(path: embeddingsPath, row: row)
                        } catch {
                            throw CaptionError.zeroEmbedding(path: embeddingsPath, row: row)
                        }
                    }
                }
                let pushed = push(EncodedCaptions(records: batch, embeddings: embeddings))
                rows += batch.count
                batch.removeAll(keepingCapacity: true)
                return pushed
            }
            var open = true
            try reader.forEach { record in
                guard open else { return }
                batch.append(record)
                if batch.count == batchSize { open = try flush() }
            }
            if open { _ = try flush() }
        }
        defer { pipeline.close() }

        // The index's codes and factors are computed on another thread (`finishing`) from the end of
        // the inserts on, overlapping the last full-text batch, the commit and SQLite's checkpoint.
        var finishing: BackgroundTask<CaptionScanIndexWriter>?
        let outcome: CaptionImportResult
        do {
            outcome = try catalog.write { connection -> CaptionImportResult in
                let sqlite = connection.dialect == .sqlite
                if sqlite { try connection.execute("PRAGMA cache_size = -262144") }
                let setID: Int64
                if let id = try connection.fetchValue("SELECT id FROM caption_set WHERE name = ?", [set], as: Int64.self) {
                    setID = id
                    if let encoderName { try connection.execute("UPDATE caption_set SET encoder = ? WHERE id = ?", [encoderName, id]) }
                } else {
                    let record = CaptionSetRecord(id: nil, name: set, dimension: dimension, encoder: encoderName, revision: nil, createdAt: CaptionClock.now())
                    guard let id = try connection.insertReturningID(record, into: "caption_set") else {
                        throw CaptionError.invalidArgument("caption set '\(set)' could not be created")
                    }
                    setID = id
                }
                // The set's scan index at the revision this import makes, written as the rows go in (the
                // set's earlier rows first), so that no search pays for it. It is a cache: when it cannot
                // be written the import goes on, and the first search builds it from the catalog.
                let revision = try connection.fetchValue("SELECT revision FROM caption_set WHERE id = ?", [setID], as: Int64.self) ?? 0
                var index: CaptionScanIndexWriter? = try? CaptionScanIndexWriter(
                    path: captionIndexPath(setID: setID, revision: revision + 1), setID: setID, revision: revision + 1, dimension: dimension)
                func dropIndex() { index?.discard(); index = nil }
                if let writer = index {
                    do { try CaptionScanIndex.appendCatalogRows(setID: setID, connection: connection, to: writer) } catch { dropIndex() }
                }
                // SQLite: full-text indexing in batches of the inserted captions (`CaptionFullTextBatch`)
                // instead of the per-row trigger, which is dropped and re-created, as it was, inside this
                // transaction (rolled back with it on any error). PostgreSQL: `caption.search_document` is a
                // generated column, written with the row.
                let trigger = sqlite ? try connection.fetchValue(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'caption_search_insert'", as: String.self) : nil
                if trigger != nil { try connection.execute("DROP TRIGGER caption_search_insert") }
                var fullText = try trigger.map { _ in try CaptionFullTextBatch(connection: connection) }
                let insert = try connection.prepare(
                    "INSERT INTO caption (set_id, caption, url, path, embedding) VALUES (?, ?, ?, ?, ?) ON CONFLICT (set_id, caption) DO NOTHING")
                var imported = 0, duplicates = 0, rows = 0
                var arguments = [CatalogValue](repeating: .null, count: 5)
                arguments[0] = .integer(setID)
                while let batch = try pipeline.next() {
                    for (record, embedding) in zip(batch.records, batch.embeddings) {
                        arguments[1] = .text(record.caption)
                        arguments[2] = .text(record.url)
                        arguments[3] = .text(record.path)
                        arguments[4] = .blob(embedding)
                        guard let id = try insert.insertReturningID(arguments) else { duplicates += 1; continue }
                        imported += 1
                        try fullText?.add(id: id, caption: record.caption)
                        if let writer = index {
                            do { try writer.append(id: id, data: embedding) } catch { dropIndex() }
                        }
                    }
                    rows += batch.records.count
                    progress?(rows)
                }
                guard rows > 0 else { throw CaptionError.emptyCaptionFile(path: file) }
                if let numpy, numpy.rows != rows {
                    throw CaptionError.embeddingCountMismatch(path: numpy.path, rows: numpy.rows, captions: rows)
                }
                if imported == 0 { dropIndex() }
                finishing = index.map { writer in BackgroundTask { try writer.finish(); return writer } }
                try fullText?.flush()
                if let trigger { try connection.execute(trigger) }
                if imported > 0 { try connection.execute("UPDATE caption_set SET revision = revision + 1 WHERE id = ?", [setID]) }
                return CaptionImportResult(set: set, imported: imported, skippedDuplicates: duplicates)
            }
        } catch {
            _ = try? finishing?.wait()  // its temporary file goes with the writer
            throw error
        }
        // Committed: the finished index file takes its name (a crash before this leaves only a
        // temporary file; a failed index is only a cache miss: the first search builds it).
        if let writer = try? finishing?.wait(), let published = try? writer.publish() { adoptCaptionIndex(published) }
        return outcome
    }

    /// Every caption set, by name.
    public func captionSets() throws -> [CaptionSetInfo] {
        try catalog.read { connection in
            try connection.fetchAll("""
                SELECT s.name, s.dimension, s.encoder, s.created_at, (SELECT COUNT(*) FROM caption c WHERE c.set_id = s.id) AS n
                FROM caption_set s ORDER BY s.name
                """).map {
                CaptionSetInfo(name: try $0.value("name"), captions: try $0.value("n"), dimension: try $0.value("dimension"),
                               encoder: try $0.value("encoder"), createdAt: try $0.value("created_at"))
            }
        }
    }

    /// Full-text search over a set's captions: every word of `query` (split as FTS5's `ascii`
    /// tokenizer splits, lower-cased) must match a word of the caption as a prefix. SQLite: FTS5
    /// (`caption_search`, best `rank` first); PostgreSQL: `caption.search_document` (best `ts_rank` first).
    public func matchCaptions(_ query: String, set: String, limit: Int = 50) throws -> [CaptionMatch] {
        try catalog.read { connection in
            guard let setID = try connection.fetchValue("SELECT id FROM caption_set WHERE name = ?", [set], as: Int64.self) else {
                throw CaptionError.unknownSet(set)
            }
            guard let pattern = FullTextQuery.prefixQuery(FullTextQuery.asciiWords(query), dialect: connection.dialect) else { return [] }
            let sql = switch connection.dialect {
            case .sqlite: """
                SELECT c.id, c.caption, c.url, c.path FROM caption_search JOIN caption c ON c.id = caption_search.rowid
                WHERE caption_search MATCH ? AND c.set_id = ? ORDER BY rank LIMIT ?
                """
            case .postgres: """
                SELECT c.id, c.caption, c.url, c.path FROM caption c, to_tsquery('simple', ?) q
                WHERE c.search_document @@ q AND c.set_id = ? ORDER BY ts_rank(c.search_document, q) DESC, c.id LIMIT ?
                """
            }
            return try connection.fetchAll(sql, [pattern, setID, limit]).map {
                CaptionMatch(id: try $0.value("id"), caption: try $0.value("caption"), similarity: 0, url: try $0.value("url"), path: try $0.value("path"))
            }
        }
    }

    /// Names are path- and shell-friendly: letters, digits, `.`, `_`, `-`, 1–128 characters.
    static func validateName(_ name: String, kind: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
        guard !name.isEmpty, name.count <= 128, name.unicodeScalars.allSatisfy({ allowed.contains($0) }), !name.hasPrefix(".") else {
            throw CaptionError.invalidArgument("invalid \(kind) name '\(name)': use letters, digits, '.', '_' or '-'")
        }
    }
}
