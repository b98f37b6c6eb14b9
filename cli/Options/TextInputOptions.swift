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
