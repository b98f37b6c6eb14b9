import ArgumentParser
import Foundation
import Registry

/// `concepts base add|list|show` (CLI.md "Base models and encoders").
struct BaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "base", abstract: "Manage base models.", subcommands: [Add.self, List.self, Show.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a diffusers pipeline folder or a CompVis single-file checkpoint.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Name of the new base model.") var name: String
        @Argument(help: "A diffusers pipeline folder, or a CompVis .safetensors/.ckpt file.") var path: String

        func run() throws {
            let store = try options.open()
            let result = try store.addBase(name: name, path: URL(fileURLWithPath: path), progress: Progress.report)
            try options.emit(result) {
                "added base \(result.name) (\(result.architecture)): \(result.tensors) tensors, \(formatBytes(result.bytesTotal)), "
                    + "\(formatBytes(result.bytesNew)) new, \(result.crossAttentionLayers) cross-attention layers"
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List base models.")
        @OptionGroup var options: StoreOptions
        struct Result: Encodable { let bases: [BaseInfo] }

        func run() throws {
            let bases = try options.open().bases()
            try options.emit(Result(bases: bases)) {
                bases.isEmpty ? "no base models" : bases.map { "\($0.name)\t\($0.architecture)\t\($0.tensors) tensors\t\(formatBytes($0.bytesTotal))\t\($0.concepts) concepts" }.joined(separator: "\n")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a base model and its cross-attention layer table.")
        @OptionGroup var options: StoreOptions
        @Argument var name: String

        func run() throws {
            let base = try options.open().base(named: name)
            try options.emit(base) {
                var lines = ["\(base.name) (\(base.architecture), \(base.sourceFormat)): \(base.tensors) tensors, \(formatBytes(base.bytesTotal)), d = \(base.contextDim)",
                             "source: \(base.sourcePath)", "cross-attention layers:"]
                lines += (base.layers ?? []).map { "  \($0.name)  \($0.outFeatures) × \($0.inFeatures)" }
                return lines.joined(separator: "\n")
            }
        }
    }
}
