import ArgumentParser
import Foundation
import Registry

extension RegsetCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a regularization set and its captions.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String

        func run() throws {
            let s = try options.open(create: false).regset(named: name)
            try output.emit(s) {
                var lines = ["\(s.name) (\(s.source)): \(s.captions) captions, created \(s.createdAt)"]
                lines += s.grams.map { "  Σ for \($0.base): \($0.dimension) × \($0.dimension) from \($0.featureRows) feature rows" }
                lines += (s.items ?? []).map { ($0.similarity.map { String(format: "%.4f\t", $0) } ?? "") + $0.caption }
                return lines.joined(separator: "\n")
            }
        }
    }
}
