import ArgumentParser
import Foundation
import Registry

extension BaseCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List base models.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        struct Result: Encodable { let bases: [BaseInfo] }

        func run() throws {
            let bases = try options.open().bases()
            try output.emit(Result(bases: bases)) {
                bases.isEmpty ? "no base models" : bases.map { "\($0.name)\t\($0.architecture)\t\($0.tensors) tensors\t\(formatBytes($0.bytesTotal))\t\($0.concepts) concepts" }.joined(separator: "\n")
            }
        }
    }
}
