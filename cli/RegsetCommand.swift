import ArgumentParser
import Foundation
import Registry

/// `concepts regset create|export|list|show` (CLI.md "Captions and regularization sets").
struct RegsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regset", abstract: "Regularization sets: captions for a concept's prior, and Σ for the merge.",
        subcommands: [Create.self, Export.self, List.self, Show.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a regularization set by retrieval (--query) or from a caption file (--from-file).")
        @OptionGroup var options: StoreOptions
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
            try options.emit(result) { "created regularization set \(result.name): \(result.captions) captions, \(result.featureRows) feature rows" }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write caption.txt, urls.txt, images.txt for diffusers' train_custom_diffusion.py --real_prior.")
        @OptionGroup var options: StoreOptions
        @Argument var name: String
        @Option(help: "The directory to write (pass it as --class_data_dir).") var out: String

        func run() throws {
            let result = try options.open(create: false).exportRegset(name: name, to: URL(fileURLWithPath: out))
            try options.emit(result) {
                "wrote \(result.files.joined(separator: ", ")) (\(result.captions) captions; \(result.imagesCopied) images copied, "
                    + "\(result.imagesMissing) to download from urls.txt)"
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List regularization sets.")
        @OptionGroup var options: StoreOptions
        struct Result: Encodable { let regsets: [RegsetInfo] }

        func run() throws {
            let sets = try options.open().regsets()
            try options.emit(Result(regsets: sets)) {
                sets.isEmpty ? "no regularization sets" : sets.map { s in
                    "\(s.name)\t\(s.source)\t\(s.captions) captions\tΣ for: \(s.grams.map(\.base).joined(separator: ", "))"
                }.joined(separator: "\n")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a regularization set and its captions.")
        @OptionGroup var options: StoreOptions
        @Argument var name: String

        func run() throws {
            let s = try options.open(create: false).regset(named: name)
            try options.emit(s) {
                var lines = ["\(s.name) (\(s.source)): \(s.captions) captions, created \(s.createdAt)"]
                lines += s.grams.map { "  Σ for \($0.base): \($0.dimension) × \($0.dimension) from \($0.featureRows) feature rows" }
                lines += (s.items ?? []).map { ($0.similarity.map { String(format: "%.4f\t", $0) } ?? "") + $0.caption }
                return lines.joined(separator: "\n")
            }
        }
    }
}
