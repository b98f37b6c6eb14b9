import Foundation

/// The two rewrites the PostgreSQL catalog applies to the registry's SQL, over one lexer that knows
/// PostgreSQL's lexical structure (PostgreSQL manual §4.1 "Lexical Structure"): `?` placeholders
/// become `$1…$n`, and a script becomes its statements (the extended query protocol that binds
/// parameters runs one statement at a time).
///
/// Skipped, never rewritten or split: string constants `'…'` (`''` inside), escape strings
/// `E'…'` (backslash escapes), quoted identifiers `"…"` (`""` inside), dollar-quoted strings
/// `$tag$…$tag$`, line comments `-- …` and nested block comments `/* … */`.
public enum PostgresSQL {
    /// `sql` with its `?` placeholders numbered `$1…$n` from left to right, and `n`.
    public static func numberPlaceholders(_ sql: String) -> (sql: String, count: Int) {
        var output: [UInt8] = []
        var count = 0
        let bytes = Array(sql.utf8)
        output.reserveCapacity(bytes.count + 8)
        var lexer = Lexer(bytes)
        while let token = lexer.next() {
            if token.kind == .placeholder {
                count += 1
                output.append(UInt8(ascii: "$"))
                output.append(contentsOf: Array(String(count).utf8))
            } else {
                output.append(contentsOf: bytes[token.range])
            }
        }
        return (String(decoding: output, as: UTF8.self), count)
    }

    /// The statements of a script, split at the semicolons outside literals and comments, each
    /// from its first token (comments before it dropped) to its end, trimmed; pieces made only of
    /// comments and white space are dropped.
    public static func splitStatements(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        // From the statement's first token that is not white space or a comment.
        var start: Int?
        var lexer = Lexer(bytes)
        func flush(upTo end: Int) {
            if let start {
                let text = String(decoding: bytes[start..<end], as: UTF8.self)
                statements.append(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            start = nil
        }
        while let token = lexer.next() {
            switch token.kind {
            case .semicolon:
                flush(upTo: token.range.lowerBound)
            case .whitespace, .comment:
                break
            default:
                if start == nil { start = token.range.lowerBound }
            }
        }
        flush(upTo: bytes.count)
        return statements
    }

    /// `sql` without trailing white space, comments and semicolons (so that a clause can be appended).
    static func trimmingTail(_ sql: String) -> String {
        let bytes = Array(sql.utf8)
        var end = 0
        var lexer = Lexer(bytes)
        while let token = lexer.next() {
            switch token.kind {
            case .whitespace, .comment, .semicolon: break
            default: end = token.range.upperBound
            }
        }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    struct Token {
        enum Kind { case text, literal, comment, whitespace, placeholder, semicolon }
        let kind: Kind
        let range: Range<Int>
    }

    /// Splits UTF-8 bytes into tokens; every delimiter is ASCII, so multi-byte characters are
    /// copied through untouched. An unterminated literal or comment runs to the end (the server
    /// reports the syntax error).
    struct Lexer {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func next() -> Token? {
            guard position < bytes.count else { return nil }
            let start = position
            let byte = bytes[position]
            let kind: Token.Kind
            switch byte {
            case UInt8(ascii: "'"):
                let escapes = start > 0 && (bytes[start - 1] == UInt8(ascii: "E") || bytes[start - 1] == UInt8(ascii: "e"))
                    && (start < 2 || !Self.isIdentifierByte(bytes[start - 2]))
                skipQuoted(UInt8(ascii: "'"), backslashEscapes: escapes)
                kind = .literal
            case UInt8(ascii: "\""):
                skipQuoted(UInt8(ascii: "\""), backslashEscapes: false)
                kind = .literal
            case UInt8(ascii: "-") where peek(1) == UInt8(ascii: "-"):
                while position < bytes.count, bytes[position] != UInt8(ascii: "\n") { position += 1 }
                kind = .comment
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                skipBlockComment()
                kind = .comment
            case UInt8(ascii: "$") where start == 0 || !Self.isIdentifierByte(bytes[start - 1]):
                kind = skipDollar() ? .literal : .text
            case UInt8(ascii: "?"):
                position += 1
                kind = .placeholder
            case UInt8(ascii: ";"):
                position += 1
                kind = .semicolon
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0C:
                while position < bytes.count, Self.isSpace(bytes[position]) { position += 1 }
                kind = .whitespace
            default:
                // Plain text up to the next byte that may start another token.
                position += 1
                while position < bytes.count, !Self.mayStartToken(bytes[position]) { position += 1 }
                kind = .text
            }
            return Token(kind: kind, range: start..<position)
        }

        private func peek(_ offset: Int) -> UInt8? {
            position + offset < bytes.count ? bytes[position + offset] : nil
        }

        private mutating func skipQuoted(_ quote: UInt8, backslashEscapes: Bool) {
            position += 1
            while position < bytes.count {
                let byte = bytes[position]
                if backslashEscapes, byte == UInt8(ascii: "\\") {
                    position += 2
                } else if byte == quote {
                    position += 1
                    if position < bytes.count, bytes[position] == quote { position += 1 } else { return }
                } else {
                    position += 1
                }
            }
            position = min(position, bytes.count)
        }

        private mutating func skipBlockComment() {
            position += 2
            var depth = 1
            while position < bytes.count, depth > 0 {
                if bytes[position] == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                    depth += 1
                    position += 2
                } else if bytes[position] == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                    depth -= 1
                    position += 2
                } else {
                    position += 1
                }
            }
            position = min(position, bytes.count)
        }

        /// At `$`: a dollar-quoted string (`$$…$$`, `$tag$…$tag$`) is skipped whole (true);
        /// anything else (`$1`, a lone `$`) advances one byte (false).
        private mutating func skipDollar() -> Bool {
            var end = position + 1
            while end < bytes.count, Self.isIdentifierByte(bytes[end]), bytes[end] != UInt8(ascii: "$") { end += 1 }
            let tagBody = bytes[(position + 1)..<min(end, bytes.count)]
            guard end < bytes.count, bytes[end] == UInt8(ascii: "$"),
                  tagBody.first.map({ !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) ?? true
            else {
                position += 1
                return false
            }
            let tag = Array(bytes[position...end])
            var search = end + 1
            while search + tag.count <= bytes.count {
                if bytes[search] == UInt8(ascii: "$"), Array(bytes[search..<(search + tag.count)]) == tag {
                    position = search + tag.count
                    return true
                }
                search += 1
            }
            position = bytes.count
            return true
        }

        static func isSpace(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == 0x0C
        }

        /// Letters, digits, `_`, `$` and every non-ASCII byte (PostgreSQL identifiers may hold them).
        static func isIdentifierByte(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
        }

        static func mayStartToken(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "$"), UInt8(ascii: "?"), UInt8(ascii: ";"):
                true
            default:
                isSpace(byte)
            }
        }
    }
}
