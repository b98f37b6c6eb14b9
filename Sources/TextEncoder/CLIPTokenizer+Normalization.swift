import Foundation

/// Normalisation, added-token splitting and CLIP's pre-tokenizer pattern, on Unicode scalars.
extension CLIPTokenizer {
    enum Segment {
        case text([Unicode.Scalar])
        case token(Int32)
    }

    /// NFC, then each scalar replaced by its full lowercase mapping (tokenizers' `NFC` + `Lowercase`; the
    /// `Replace(\s+, " ")` step in between cannot change the result because the pre-tokenizer drops whitespace).
    static func normalize(_ text: String, _ mode: Normalization) -> [Unicode.Scalar] {
        let composed = text.precomposedStringWithCanonicalMapping
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(composed.unicodeScalars.count)
        for scalar in composed.unicodeScalars {
            if scalar.isASCII {
                out.append(scalar.value >= 65 && scalar.value <= 90 ? Unicode.Scalar(scalar.value + 32)! : scalar)
            } else if scalar.properties.changesWhenLowercased {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return out
    }

    /// Splits `scalars` around occurrences of `tokens`, leftmost match first and the longest at a position
    /// (aho-corasick `LeftmostLongest`, as the tokenizers added vocabulary does).
    static func split(_ scalars: [Unicode.Scalar], on tokens: [AddedToken]) -> [Segment] {
        guard !tokens.isEmpty, !scalars.isEmpty else { return scalars.isEmpty ? [] : [.text(scalars)] }
        var segments: [Segment] = []
        var start = 0
        var i = 0
        while i < scalars.count {
            var best: AddedToken?
            for token in tokens where token.scalars.count <= scalars.count - i && token.scalars.count > (best?.scalars.count ?? 0) {
                if scalars[i..<(i + token.scalars.count)].elementsEqual(token.scalars) { best = token }
            }
            if let best {
                if start < i { segments.append(.text(Array(scalars[start..<i]))) }
                segments.append(.token(best.id))
                i += best.scalars.count
                start = i
            } else {
                i += 1
            }
        }
        if start < scalars.count { segments.append(.text(Array(scalars[start...]))) }
        return segments
    }

    private static let startOfText = Array("<|startoftext|>".unicodeScalars)
    private static let endOfText = Array("<|endoftext|>".unicodeScalars)
    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    /// The words of CLIP's pattern
    /// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
    /// matched leftmost-first from each position; whitespace (Unicode `White_Space`) between matches is dropped.
    static func preTokenize(_ s: [Unicode.Scalar]) -> [String] {
        var words: [String] = []
        var i = 0
        let n = s.count
        func word(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(s[range])) }
        func hasPrefix(_ p: [Unicode.Scalar], at j: Int) -> Bool {
            p.count <= n - j && s[j..<(j + p.count)].elementsEqual(p)
        }
        while i < n {
            let c = s[i]
            if isSpace(c) { i += 1; continue }
            if c == "<", let special = [startOfText, endOfText].first(where: { hasPrefix($0, at: i) }) {
                words.append(word(i..<(i + special.count)))
                i += special.count
                continue
            }
            if c == "'", let tail = contractions.first(where: { hasPrefix($0, at: i + 1) }) {
                words.append(word(i..<(i + 1 + tail.count)))
                i += 1 + tail.count
                continue
            }
            var j = i + 1
            if isLetter(c) {
                while j < n, isLetter(s[j]) { j += 1 }
            } else if !isNumber(c) {
                while j < n, !isSpace(s[j]), !isLetter(s[j]), !isNumber(s[j]) { j += 1 }
            }
            words.append(word(i..<j))
            i = j
        }
        return words
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.isASCII ? (c == " " || (c.value >= 9 && c.value <= 13)) : c.properties.isWhitespace
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return (c.value | 0x20) >= 97 && (c.value | 0x20) <= 122 }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c.value >= 48 && c.value <= 57 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
