import ArgumentParser
import Foundation
import Registry

extension BaseCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a diffusers pipeline folder or a CompVis single-file checkpoint.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Name of the new base model.") var name: String
        @Argument(help: "A diffusers pipeline folder, or a CompVis .safetensors/.ckpt file.") var path: String

        func run() throws {
            let store = try options.open()
            let result = try BaseModelImporter.add(name: name, path: URL(fileURLWithPath: path), to: store, progress: Progress.report)
            try output.emit(result) {
                "added base \(result.name) (\(result.architecture)): \(result.tensors) tensors, \(formatBytes(result.bytesTotal)), "
                    + "\(formatBytes(result.bytesNew)) new, \(result.crossAttentionLayers) cross-attention layers"
            }
        }
    }
}
