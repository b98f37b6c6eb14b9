import ArgumentParser
import Foundation
import Registry

extension CaptionsCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import captions (.txt, .jsonl, .csv, .tsv) with their embeddings.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "A .txt (one caption per line), .jsonl, .csv or .tsv file (a 'caption' field; optional 'url', 'path').") var file: String
        @Option(help: "The caption set (created on first use).") var set = "default"
        @Option(help: "A registered encoder: computes the embeddings, or with --embeddings checks their width.") var encoder: String?
        @Option(help: "A NumPy .npy (float16/float32, one row per caption, in order).") var embeddings: String?

        func run() throws {
            let store = try options.open()
            let source: CaptionEmbeddingSource = embeddings.map { .numpy(path: $0) } ?? .encoder(encoder)
            let report: ((Int) -> Void)? = Progress.enabled ? { (rows: Int) in Progress.report("captions: \(rows) read") } : nil
            let result = try store.importCaptions(file: file, set: set, source: source, encoder: embeddings == nil ? nil : encoder, progress: report)
            try output.emit(result) {
                "imported \(result.imported) captions into set \(result.set) (\(result.skippedDuplicates) duplicates skipped)"
            }
        }
    }
}
