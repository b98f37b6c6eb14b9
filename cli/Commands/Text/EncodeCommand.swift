import ArgumentParser
import Foundation
import Registry
import TextEncoder

/// `concepts encode (--base B | --encoder E) [--input FILE|-] [--layer last|penultimate] [TEXT…]` →
/// `{results: [{ids, hidden, pooled, embedding}], encode_ms}`; `encode_ms` times the forward pass only.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encode", abstract: "CLIP text features of texts.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var text: TextInputOptions
    @Option(help: "last or penultimate (SD2 convention: the penultimate layer, then the final layer norm).", transform: HiddenLayerChoice.parser(flag: "--layer")) var layer: HiddenLayerChoice = .last

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

    func run() throws {
        let (tokenizer, model) = try options.open(create: false).textModel(base: text.base, encoder: text.encoder)
        let batch = try text.allTexts().map { tokenizer.encode($0, maxLength: model.configuration.maxPositions) }
        let start = DispatchTime.now().uptimeNanoseconds
        let outputs = try model.encode(batch, layer: layer.layer)
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let items = zip(batch, outputs).map { ids, output in
            Item(ids: ids, hidden: (0..<output.hidden.rows).map { output.hidden.row($0) }, pooled: output.pooled, embedding: output.embedding)
        }
        try output.emit(Result(results: items, encodeMs: milliseconds)) {
            items.map { "\($0.ids.count) tokens, hidden \($0.hidden.count)×\($0.hidden.first?.count ?? 0), pooled[0..3] = "
                + $0.pooled.prefix(4).map { String(format: "%.4f", $0) }.joined(separator: ", ") }.joined(separator: "\n")
                + "\nencode: \(String(format: "%.1f", milliseconds)) ms"
        }
    }
}
