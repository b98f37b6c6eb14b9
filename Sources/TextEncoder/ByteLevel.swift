/// GPT-2 / CLIP byte-level alphabet: every byte maps to one printable Unicode character, so BPE works on strings
/// without whitespace or control characters (`bytes_to_unicode()` in OpenAI's CLIP `simple_tokenizer.py` and in
/// the `tokenizers` ByteLevel pre-tokenizer).
///
/// Printable bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` map to themselves; the other 68 bytes map to U+0100, U+0101, … in
/// byte order.
enum ByteLevel {
    /// The bytes in CLIP's vocabulary order (printable ranges first, then the remapped ones).
    static let orderedBytes: [UInt8] = {
        let printable = Array(UInt8(ascii: "!")...UInt8(ascii: "~")) + Array(UInt8(0xA1)...UInt8(0xAC)) + Array(UInt8(0xAE)...UInt8(0xFF))
        let set = Set(printable)
        return printable + (0...255).map(UInt8.init).filter { !set.contains($0) }
    }()

    /// `character[b]` is the character standing for byte `b`.
    static let character: [Character] = {
        let printable = Set(orderedBytes.prefix(188))
        var table = [Character](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0...255 {
            if printable.contains(UInt8(b)) {
                table[b] = Character(Unicode.Scalar(UInt8(b)))
            } else {
                table[b] = Character(Unicode.Scalar(next)!)  // 256…323 are valid scalars
                next += 1
            }
        }
        return table
    }()

    /// The byte-level string of `text`'s UTF-8 bytes.
    static func encode(_ text: Substring) -> [Character] { text.utf8.map { character[Int($0)] } }
}
