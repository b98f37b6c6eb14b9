import ArgumentParser
import Foundation
import Registry

extension EncoderCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a CLIPTextModelWithProjection folder (Hugging Face layout).")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Name of the encoder.") var name: String
        @Argument(help: "A folder with config.json, model.safetensors and the tokenizer files (or tokenizer/).") var path: String

        func run() throws {
            let info = try options.open().addCaptionEncoder(name: name, path: URL(fileURLWithPath: path))
            try output.emit(info) { "added encoder \(info.name): hidden size \(info.hiddenSize), projection \(info.projectionDim)" }
        }
    }
}
