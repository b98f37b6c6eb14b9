import ArgumentParser
import Foundation
import Registry

/// `concepts encoder add|list` (CLI.md "Base models and encoders").
struct EncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder", abstract: "CLIP text encoders for caption retrieval.", subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a CLIPTextModelWithProjection folder (Hugging Face layout).")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Name of the encoder.") var name: String
        @Argument(help: "A folder with config.json, model.safetensors and the tokenizer files (or tokenizer/).") var path: String

        func run() throws {
            let info = try options.open().addCaptionEncoder(name: name, path: URL(fileURLWithPath: path))
            try options.emit(info) { "added encoder \(info.name): hidden size \(info.hiddenSize), projection \(info.projectionDim)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered encoders.")
        @OptionGroup var options: StoreOptions
        struct Result: Encodable { let encoders: [CaptionEncoderInfo] }

        func run() throws {
            let encoders = try options.open().captionEncoders()
            try options.emit(Result(encoders: encoders)) {
                encoders.isEmpty ? "no encoders" : encoders.map { "\($0.name)\thidden \($0.hiddenSize)\tprojection \($0.projectionDim)" }.joined(separator: "\n")
            }
        }
    }
}
