import Foundation

/// Free text turned into a full-text query that matches rows containing every word as a prefix:
/// SQLite FTS5 (`"w1"* "w2"*`, for `… MATCH ?`) or PostgreSQL (`'w1':* & 'w2':*`, for
/// `… @@ to_tsquery('simple', ?)`). Words are split at punctuation, so `<new1>` is the word `new1`.
enum FullTextQuery {
    /// Words of `text` separated by anything that is not a letter or digit (Unicode).
    static func words(_ text: String) -> [String] {
        text.unicodeScalars.split { !CharacterSet.alphanumerics.contains($0) }.map { String(String.UnicodeScalarView($0)) }
    }

    /// Words as FTS5's `ascii` tokenizer splits them (GRDB's `FTS5Pattern(matchingAllPrefixesIn:)`):
    /// ASCII letters and digits and every non-ASCII character are word characters; ASCII is lower-cased.
    static func asciiWords(_ text: String) -> [String] {
        text.unicodeScalars.split { $0.isASCII && !($0.properties.isAlphabetic || ("0"..."9").contains($0)) }
            .map { String(String.UnicodeScalarView($0)).lowercased() }
    }

    /// The query for `words` in `dialect`; nil when there are no words (nothing matches).
    static func prefixQuery(_ words: [String], dialect: CatalogDialect) -> String? {
        guard !words.isEmpty else { return nil }
        switch dialect {
        case .sqlite: return words.map { "\"\($0)\"*" }.joined(separator: " ")
        case .postgres: return words.map { "'\($0)':*" }.joined(separator: " & ")
        }
    }
}
