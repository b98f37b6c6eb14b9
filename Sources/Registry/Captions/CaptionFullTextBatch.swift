import Foundation

/// Full-text rows of an import (`caption_search`: rowid = caption id), added `rows` at a time by one
/// `INSERT … SELECT … FROM json_each(?)` from a JSON array of `[id, caption]` pairs built here.
///
/// FTS5 flushes its pending terms at the end of every statement, so a per-row trigger writes one tiny
/// segment per caption (and merges them: ~30 s for 1M). One statement over the whole table after the
/// inserts (what the import did before) reads every row back, embeddings included — 1.5 GB of pages
/// looked up in the write-ahead log for 1M captions. The captions are at hand while they are
/// inserted: 16 statements for 1M, nothing read back.
struct CaptionFullTextBatch {
    /// Captions per statement.
    let rows: Int
    private var json: [UInt8] = []
    private var count = 0
    private let statement: any CatalogStatement

    /// SQLite only (FTS5 and `json_each`); PostgreSQL indexes captions through a generated column.
    init(connection: any CatalogConnection, rows: Int = 65_536) throws {
        self.rows = max(1, rows)
        statement = try connection.prepare("INSERT INTO caption_search (rowid, caption) SELECT value ->> 0, value ->> 1 FROM json_each(?)")
        json.reserveCapacity(1 << 22)
    }

    /// Adds caption `id`; runs the statement every `rows` captions.
    mutating func add(id: Int64, caption: String) throws {
        json.append(count == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
        json.append(UInt8(ascii: "["))
        json.append(contentsOf: String(id).utf8)
        json.append(contentsOf: ",\"".utf8)
        Self.appendEscaped(caption, to: &json)
        json.append(contentsOf: "\"]".utf8)
        count += 1
        if count >= rows { try flush() }
    }

    /// Inserts what was added.
    mutating func flush() throws {
        guard count > 0 else { return }
        json.append(UInt8(ascii: "]"))
        try statement.execute([CatalogValue.text(String(decoding: json, as: UTF8.self))])
        json.removeAll(keepingCapacity: true)
        count = 0
    }

    /// The JSON string body of `text` (RFC 8259 §7): `"` and `\` escaped, control characters as `\u00XX`.
    static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
    }
}
