import CaptionIndex
import Foundation
import GRDB

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
        let existing = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT dimension, encoder FROM caption_set WHERE name = ?", arguments: [set])
        }
        let existingDimension: Int? = existing?["dimension"]
        let existingEncoder: String? = existing?["encoder"]

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
            outcome = try database.write { db -> CaptionImportResult in
                try db.execute(sql: "PRAGMA cache_size = -262144")
                let setID: Int64
                if let id = try Int64.fetchOne(db, sql: "SELECT id FROM caption_set WHERE name = ?", arguments: [set]) {
                    setID = id
                    if let encoderName { try db.execute(sql: "UPDATE caption_set SET encoder = ? WHERE id = ?", arguments: [encoderName, id]) }
                } else {
                    try db.execute(sql: "INSERT INTO caption_set (name, dimension, encoder, created_at) VALUES (?, ?, ?, ?)",
                                   arguments: [set, dimension, encoderName, CaptionClock.now()])
                    setID = db.lastInsertedRowID
                }
                // The set's scan index at the revision this import makes, written as the rows go in (the
                // set's earlier rows first), so that no search pays for it. It is a cache: when it cannot
                // be written the import goes on, and the first search builds it from the catalog.
                let revision = try Int64.fetchOne(db, sql: "SELECT revision FROM caption_set WHERE id = ?", arguments: [setID]) ?? 0
                var index: CaptionScanIndexWriter? = try? CaptionScanIndexWriter(
                    path: captionIndexPath(setID: setID, revision: revision + 1), setID: setID, revision: revision + 1, dimension: dimension)
                func dropIndex() { index?.discard(); index = nil }
                if let writer = index {
                    do { try Self.catalogCaptionRows(setID: setID, db: db, indexPath: writer.path) { try writer.append(id: $0, data: $1) } } catch { dropIndex() }
                }
                // Full-text indexing in batches of the inserted captions (`CaptionFullTextBatch`) instead of
                // the per-row trigger, which is dropped and re-created, as it was, inside this transaction
                // (rolled back with it on any error).
                let trigger = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'caption_search_insert'")
                if trigger != nil { try db.execute(sql: "DROP TRIGGER caption_search_insert") }
                var fullText = try trigger.map { _ in try CaptionFullTextBatch(db: db) }
                let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO caption (set_id, caption, url, path, embedding) VALUES (?, ?, ?, ?, ?)")
                var imported = 0, duplicates = 0, rows = 0
                while let batch = try pipeline.next() {
                    for (record, embedding) in zip(batch.records, batch.embeddings) {
                        try insert.execute(arguments: [setID, record.caption, record.url, record.path, embedding])
                        if db.changesCount == 0 { duplicates += 1; continue }
                        imported += 1
                        try fullText?.add(id: db.lastInsertedRowID, caption: record.caption)
                        if let writer = index {
                            do { try writer.append(id: db.lastInsertedRowID, data: embedding) } catch { dropIndex() }
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
                if let trigger { try db.execute(sql: trigger) }
                if imported > 0 { try db.execute(sql: "UPDATE caption_set SET revision = revision + 1 WHERE id = ?", arguments: [setID]) }
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
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.name, s.dimension, s.encoder, s.created_at, (SELECT COUNT(*) FROM caption c WHERE c.set_id = s.id) AS n
                FROM caption_set s ORDER BY s.name
                """).map { CaptionSetInfo(name: $0["name"], captions: $0["n"], dimension: $0["dimension"], encoder: $0["encoder"], createdAt: $0["created_at"]) }
        }
    }

    /// Full-text search (FTS5 `MATCH` syntax) over a set's captions.
    public func matchCaptions(_ query: String, set: String, limit: Int = 50) throws -> [CaptionMatch] {
        try database.read { db in
            guard let setID = try Int64.fetchOne(db, sql: "SELECT id FROM caption_set WHERE name = ?", arguments: [set]) else {
                throw CaptionError.unknownSet(set)
            }
            let pattern = FTS5Pattern(matchingAllPrefixesIn: query)
            return try Row.fetchAll(db, sql: """
                SELECT c.id, c.caption, c.url, c.path FROM caption_search JOIN caption c ON c.id = caption_search.rowid
                WHERE caption_search MATCH ? AND c.set_id = ? ORDER BY rank LIMIT ?
                """, arguments: [pattern, setID, limit]).map {
                CaptionMatch(id: $0["id"], caption: $0["caption"], similarity: 0, url: $0["url"], path: $0["path"])
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
