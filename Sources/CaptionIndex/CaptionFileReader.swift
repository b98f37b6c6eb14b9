import Foundation
import Tensors

/// One caption read from an import file, with its optional image URL and local path.
public struct CaptionRecord: Sendable, Equatable {
    public var caption: String
    public var url: String
    public var path: String
    /// 1-based line where the record starts (for error messages).
    public var line: Int

    public init(caption: String, url: String = "", path: String = "", line: Int = 0) {
        self.caption = caption
        self.url = url
        self.path = path
        self.line = line
    }
}

/// Reads the caption files `captions import` accepts (CLI.md "Captions and regularization sets"),
/// streaming from a memory-mapped file:
///
/// - `.txt`: one caption per line (surrounding whitespace trimmed, blank lines skipped);
/// - `.jsonl`: one JSON object per line with a string `caption` and optional `url`, `path`;
/// - `.csv` / `.tsv`: RFC 4180 delimited text (`"` quoting, `""` for a quote, quoted fields may
///   span lines, CRLF or LF) whose header names a `caption` column (case-insensitive) and
///   optionally `url` and `path`. Every row must have as many fields as the header.
public struct CaptionFileReader: Sendable {
    public enum Format: String, Sendable { case text, jsonLines, csv, tsv }

    public let path: String
    public let format: Format

    public init(path: String) throws {
        self.path = path
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "txt": format = .text
        case "jsonl", "ndjson": format = .jsonLines
        case "csv": format = .csv
        case "tsv": format = .tsv
        default: throw CaptionError.unsupportedCaptionFile(path: path)
        }
    }

    /// Calls `body` with every record, in file order.
    public func forEach(_ body: (CaptionRecord) throws -> Void) throws {
        let buffer: ByteBuffer
        do { buffer = try MappedFile.map(path: path) } catch {
            throw CaptionError.io(path: path, reason: error.localizedDescription)
        }
        try buffer.withUnsafeBytes { bytes in
            switch format {
            case .text: try readLines(bytes, body: body)
            case .jsonLines: try readJSONLines(bytes, body: body)
            case .csv: try readDelimited(bytes, separator: UInt8(ascii: ","), body: body)
            case .tsv: try readDelimited(bytes, separator: UInt8(ascii: "\t"), body: body)
            }
        }
    }

    /// Every record (for small files and tests).
    public func readAll() throws -> [CaptionRecord] {
        var all: [CaptionRecord] = []
        try forEach { all.append($0) }
        return all
    }

    // MARK: Formats

    private func eachLine(_ bytes: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows {
        var start = 0, line = 1
        let count = bytes.count
        while start < count {
            var end = start
            while end < count, bytes[end] != 0x0A { end += 1 }
            var stop = end
            if stop > start, bytes[stop - 1] == 0x0D { stop -= 1 }
            try body(line, UnsafeRawBufferPointer(rebasing: bytes[start..<stop]))
            start = end + 1
            line += 1
        }
    }

    private func decode(_ bytes: UnsafeRawBufferPointer, line: Int) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "not valid UTF-8")
        }
        return text
    }

    private func readLines(_ bytes: UnsafeRawBufferPointer, body: (CaptionRecord) throws -> Void) throws {
        try eachLine(bytes) { line, content in
            let caption = try decode(content, line: line).trimmingCharacters(in: .whitespacesAndNewlines)
            if !caption.isEmpty { try body(CaptionRecord(caption: caption, line: line)) }
        }
    }

    private func readJSONLines(_ bytes: UnsafeRawBufferPointer, body: (CaptionRecord) throws -> Void) throws {
        try eachLine(bytes) { line, content in
            if content.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            let object = try? JSONSerialization.jsonObject(with: Data(content))
            guard let dict = object as? [String: Any] else {
                throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "not a JSON object")
            }
            guard let caption = dict["caption"] as? String else {
                throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "no string 'caption' field")
            }
            guard !caption.isEmpty else { throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "empty caption") }
            try body(CaptionRecord(caption: caption, url: dict["url"] as? String ?? "", path: dict["path"] as? String ?? "", line: line))
        }
    }

    private func readDelimited(_ bytes: UnsafeRawBufferPointer, separator: UInt8, body: (CaptionRecord) throws -> Void) throws {
        var parser = DelimitedRecordParser(bytes: bytes, separator: separator, path: path)
        guard let (_, header) = try parser.next() else { throw CaptionError.emptyCaptionFile(path: path) }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let captionColumn = names.firstIndex(of: "caption") else {
            throw CaptionError.missingCaptionColumn(path: path, columns: header)
        }
        let urlColumn = names.firstIndex(of: "url"), pathColumn = names.firstIndex(of: "path")
        while let (line, fields) = try parser.next() {
            if fields.count == 1, fields[0].isEmpty { continue }  // a blank line
            guard fields.count == names.count else {
                throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "\(fields.count) fields, the header has \(names.count)")
            }
            let caption = fields[captionColumn]
            guard !caption.isEmpty else { throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "empty caption") }
            try body(CaptionRecord(caption: caption, url: urlColumn.map { fields[$0] } ?? "", path: pathColumn.map { fields[$0] } ?? "", line: line))
        }
    }
}

/// RFC 4180 records over raw bytes: fields split by `separator`, `"`-quoted fields may contain the
/// separator, line breaks and `""` (a literal quote); records end at LF or CRLF outside quotes.
struct DelimitedRecordParser {
    let bytes: UnsafeRawBufferPointer
    let separator: UInt8
    let path: String
    private var position = 0
    private var line = 1

    init(bytes: UnsafeRawBufferPointer, separator: UInt8, path: String) {
        self.bytes = bytes
        self.separator = separator
        self.path = path
    }

    /// The next record and the line it starts on, or nil at the end of the input.
    mutating func next() throws -> (Int, [String])? {
        guard position < bytes.count else { return nil }
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        let quote = UInt8(ascii: "\"")
        func finish() throws {
            guard let text = String(validating: field, as: UTF8.self) else {
                throw CaptionError.malformedCaptionFile(path: path, line: startLine, reason: "not valid UTF-8")
            }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
        }
        var atFieldStart = true
        while position < bytes.count {
            let byte = bytes[position]
            if atFieldStart, byte == quote {
                position += 1
                var closed = false
                while position < bytes.count {
                    let b = bytes[position]
                    if b == quote {
                        if position + 1 < bytes.count, bytes[position + 1] == quote { field.append(quote); position += 2; continue }
                        position += 1
                        closed = true
                        break
                    }
                    if b == 0x0A { line += 1 }
                    field.append(b)
                    position += 1
                }
                guard closed else { throw CaptionError.malformedCaptionFile(path: path, line: startLine, reason: "unterminated quoted field") }
                atFieldStart = false
                if position < bytes.count {
                    let b = bytes[position]
                    let endsLine = b == 0x0A || (b == 0x0D && position + 1 < bytes.count && bytes[position + 1] == 0x0A) || (b == 0x0D && position + 1 == bytes.count)
                    guard b == separator || endsLine else {
                        throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "text after a closing quote")
                    }
                }
                continue
            }
            if byte == separator {
                try finish()
                atFieldStart = true
                position += 1
                continue
            }
            if byte == 0x0A || (byte == 0x0D && (position + 1 == bytes.count || bytes[position + 1] == 0x0A)) {
                position += byte == 0x0D ? 2 : 1
                line += 1
                try finish()
                return (startLine, fields)
            }
            if byte == quote {
                throw CaptionError.malformedCaptionFile(path: path, line: line, reason: "a quote inside an unquoted field")
            }
            field.append(byte)
            atFieldStart = false
            position += 1
        }
        try finish()
        return (startLine, fields)
    }
}
