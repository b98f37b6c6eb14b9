import ArgumentParser
import Foundation
import Registry

extension BaseCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a base model and its cross-attention layer table.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String

        func run() throws {
            let base = try options.open().base(named: name)
            try output.emit(base) {
                var lines = ["\(base.name) (\(base.architecture), \(base.sourceFormat)): \(base.tensors) tensors, \(formatBytes(base.bytesTotal)), d = \(base.contextDim)",
                             "source: \(base.sourcePath)", "cross-attention layers:"]
                lines += (base.layers ?? []).map { "  \($0.name)  \($0.outFeatures) × \($0.inFeatures)" }
                return lines.joined(separator: "\n")
            }
        }
    }
}
