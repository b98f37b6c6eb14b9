import ArgumentParser
import Foundation
import Registry

extension RegsetCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List regularization sets.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        struct Result: Encodable { let regsets: [RegsetInfo] }

        func run() throws {
            let sets = try options.open().regsets()
            try output.emit(Result(regsets: sets)) {
                sets.isEmpty ? "no regularization sets" : sets.map { s in
                    "\(s.name)\t\(s.source)\t\(s.captions) captions\tΣ for: \(s.grams.map(\.base).joined(separator: ", "))"
                }.joined(separator: "\n")
            }
        }
    }
}
