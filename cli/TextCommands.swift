import ArgumentParser
import Foundation
import Registry
import TextEncoder

/// `--base B | --encoder E`, `--input FILE|-` and the texts, shared by `tokenize` and `encode`.
struct TextInputOptions: ParsableArguments {
    @Option(help: "A base model whose text encoder and tokenizer to use.") var base: String?
    @Option(help: "A caption encoder added with `encoder add`.") var encoder: String?
    @Option(help: "Read one text per line from FILE ('-' = standard input).") var input: String?
    @Argument(help: "Texts.") var texts: [String] = []

    func validate() throws {
        guard (base == nil) != (encoder == nil) else { throw ValidationError("name exactly one of --base or --encoder") }
        guard input != nil || !texts.isEmpty else { throw ValidationError("give texts, or --input FILE") }
    }

    /// The texts from the arguments, then from `--input`: one text per line, an empty line being
    /// the empty text (BOS, EOS), so the outputs line up with the input lines. A final line break
    /// ends the last line rather than starting an empty one; `\r\n` counts as one break.
    func allTexts() throws -> [String] {
        var all = texts
        if let input {
            let data: Data
            if input == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: input) else { throw CLIFailure(message: "cannot read \(input)") }
                data = contents
            }
            guard let text = String(data: data, encoding: .utf8) else { throw CLIFailure(message: "\(input) is not UTF-8 text") }
            all += Self.lines(text)
        }
        return all
    }

    /// The lines of `text`, empty ones included; no line after a final line break.
    static func lines(_ text: String) -> [String] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// `concepts tokenize (--base B | --encoder E) [--input FILE|-] [TEXT…]` → `{ids: [[…], …]}`:
/// BOS…EOS, truncated to 77, no padding.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "CLIP token ids of texts (BOS…EOS, at most 77).")
    @OptionGroup var options: StoreOptions
    @OptionGroup var text: TextInputOptions

    struct Result: Encodable { let ids: [[Int32]] }

    func run() throws {
        let (tokenizer, model) = try options.open(create: false).textModel(base: text.base, encoder: text.encoder)
        let ids = try text.allTexts().map { tokenizer.encode($0, maxLength: model.configuration.maxPositions) }
        try options.emit(Result(ids: ids)) { ids.map { $0.map(String.init).joined(separator: " ") }.joined(separator: "\n") }
    }
}

/// `concepts encode (--base B | --encoder E) [--input FILE|-] [--layer last|penultimate] [TEXT…]` →
/// `{results: [{ids, hidden, pooled, embedding}], encode_ms}`; `encode_ms` times the forward pass only.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encode", abstract: "CLIP text features of texts.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var text: TextInputOptions
    @Option(help: "last or penultimate (SD2 convention: the penultimate layer, then the final layer norm).") var layer: String = "last"

    struct Item: Encodable {
        let ids: [Int32]
        let hidden: [[Float]]
        let pooled: [Float]
        let embedding: [Float]?
    }

    struct Result: Encodable {
        let results: [Item]
        let encodeMs: Double
        enum CodingKeys: String, CodingKey {
            case results
            case encodeMs = "encode_ms"
        }
    }

    func validate() throws {
        guard ["last", "penultimate"].contains(layer) else { throw ValidationError("--layer must be last or penultimate") }
    }

    func run() throws {
        let (tokenizer, model) = try options.open(create: false).textModel(base: text.base, encoder: text.encoder)
        let batch = try text.allTexts().map { tokenizer.encode($0, maxLength: model.configuration.maxPositions) }
        let start = DispatchTime.now().uptimeNanoseconds
        let outputs = try model.encode(batch, layer: layer == "last" ? .last : .penultimate)
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let items = zip(batch, outputs).map { ids, output in
            Item(ids: ids, hidden: (0..<output.hidden.rows).map { output.hidden.row($0) }, pooled: output.pooled, embedding: output.embedding)
        }
        try options.emit(Result(results: items, encodeMs: milliseconds)) {
            items.map { "\($0.ids.count) tokens, hidden \($0.hidden.count)×\($0.hidden.first?.count ?? 0), pooled[0..3] = "
                + $0.pooled.prefix(4).map { String(format: "%.4f", $0) }.joined(separator: ", ") }.joined(separator: "\n")
                + "\nencode: \(String(format: "%.1f", milliseconds)) ms"
        }
    }
}
