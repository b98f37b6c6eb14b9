import ArgumentParser
import Foundation
import Registry
import TextEncoder

/// `concepts tokenize (--base B | --encoder E) [--input FILE|-] [TEXT…]` → `{ids: [[…], …]}`:
/// BOS…EOS, truncated to 77, no padding.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "CLIP token ids of texts (BOS…EOS, at most 77).")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var text: TextInputOptions

    struct Result: Encodable { let ids: [[Int32]] }

    func run() throws {
        let (tokenizer, model) = try options.open(create: false).textModel(base: text.base, encoder: text.encoder)
        let ids = try text.allTexts().map { tokenizer.encode($0, maxLength: model.configuration.maxPositions) }
        try output.emit(Result(ids: ids)) { ids.map { $0.map(String.init).joined(separator: " ") }.joined(separator: "\n") }
    }
}
