import ArgumentParser
import Foundation
import Registry

extension RegsetCommand {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a regularization set by retrieval (--query) or from a caption file (--from-file).")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Name of the new regularization set.") var name: String
        @Option(help: "The base model whose text encoder gives Σ.") var base: String
        @Option(help: "A retrieval query (repeatable).") var query: [String] = []
        @Option(help: "The caption set to search (default: default).") var set: String?
        @Option(help: "The encoder for the queries (default: the set's).") var encoder: String?
        @Option(parsing: .unconditional, help: "Minimum cosine similarity (−1…1).") var threshold: Float = Store.defaultCaptionThreshold
        @Option(parsing: .unconditional, help: "Maximum captions per query.") var limit: Int = Store.defaultCaptionLimit
        @Option(name: .customLong("from-file"), help: "A caption file (.txt, .jsonl, .csv, .tsv) listing the captions.") var fromFile: String?

        func validate() throws {
            guard query.isEmpty != (fromFile == nil) else { throw ValidationError("give either --query TEXT… or --from-file FILE") }
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
            guard threshold.isFinite, threshold <= 1 else { throw ValidationError("--threshold must be a number ≤ 1") }
        }

        func run() throws {
            let store = try options.open()
            let result = if let fromFile {
                try store.createRegset(name: name, base: base, fromFile: fromFile)
            } else {
                try store.createRegset(name: name, base: base, queries: query, set: set, encoder: encoder, threshold: threshold, limit: limit)
            }
            try output.emit(result) { "created regularization set \(result.name): \(result.captions) captions, \(result.featureRows) feature rows" }
        }
    }
}
