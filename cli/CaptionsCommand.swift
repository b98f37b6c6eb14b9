import ArgumentParser
import Foundation
import Registry

/// `concepts captions import|search|sets` (CLI.md "Captions and regularization sets").
struct CaptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captions", abstract: "Import and search captions with CLIP text embeddings.",
        subcommands: [Import.self, Search.self, Sets.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import captions (.txt, .jsonl, .csv, .tsv) with their embeddings.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "A .txt (one caption per line), .jsonl, .csv or .tsv file (a 'caption' field; optional 'url', 'path').") var file: String
        @Option(help: "The caption set (created on first use).") var set = "default"
        @Option(help: "A registered encoder: computes the embeddings, or with --embeddings checks their width.") var encoder: String?
        @Option(help: "A NumPy .npy (float16/float32, one row per caption, in order).") var embeddings: String?

        func run() throws {
            let store = try options.open()
            let source: CaptionEmbeddingSource = embeddings.map { .numpy(path: $0) } ?? .encoder(encoder)
            let report: ((Int) -> Void)? = Progress.enabled ? { (rows: Int) in Progress.report("captions: \(rows) read") } : nil
            let result = try store.importCaptions(file: file, set: set, source: source, encoder: embeddings == nil ? nil : encoder, progress: report)
            try options.emit(result) {
                "imported \(result.imported) captions into set \(result.set) (\(result.skippedDuplicates) duplicates skipped)"
            }
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Captions most similar to a text (cosine similarity of CLIP text embeddings).")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The query text.") var text: String
        @Option(help: "The caption set (default: default).") var set: String?
        @Option(help: "The encoder (default: the set's).") var encoder: String?
        @Option(parsing: .unconditional, help: "Minimum cosine similarity (−1…1).") var threshold: Float = Store.defaultCaptionThreshold
        @Option(parsing: .unconditional, help: "Maximum number of results.") var limit: Int = Store.defaultCaptionLimit

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
            guard threshold.isFinite, threshold <= 1 else { throw ValidationError("--threshold must be a number ≤ 1") }
        }

        func run() throws {
            let result = try options.open(create: false).searchCaptions(text: text, set: set, encoder: encoder, threshold: threshold, limit: limit)
            try options.emit(result) {
                var lines = result.results.map { String(format: "%.4f", $0.similarity) + "\t\($0.caption)" + ($0.url.isEmpty ? "" : "\t\($0.url)") }
                if lines.isEmpty { lines.append("no caption reaches similarity \(threshold)") }
                lines.append(String(format: "(encode %.1f ms, search %.1f ms)", result.encodeMS, result.searchMS))
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Sets: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List caption sets.")
        @OptionGroup var options: StoreOptions
        struct Result: Encodable { let sets: [CaptionSetInfo] }

        func run() throws {
            let sets = try options.open().captionSets()
            try options.emit(Result(sets: sets)) {
                sets.isEmpty ? "no caption sets" : sets.map { "\($0.name)\t\($0.captions) captions\td = \($0.dimension)\t\($0.encoder ?? "-")" }.joined(separator: "\n")
            }
        }
    }
}
