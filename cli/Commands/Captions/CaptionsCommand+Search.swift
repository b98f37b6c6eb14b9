import ArgumentParser
import Foundation
import Registry

extension CaptionsCommand {
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Captions most similar to a text (cosine similarity of CLIP text embeddings).")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
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
            try output.emit(result) {
                var lines = result.results.map { String(format: "%.4f", $0.similarity) + "\t\($0.caption)" + ($0.url.isEmpty ? "" : "\t\($0.url)") }
                if lines.isEmpty { lines.append("no caption reaches similarity \(threshold)") }
                lines.append(String(format: "(encode %.1f ms, search %.1f ms)", result.encodeMS, result.searchMS))
                return lines.joined(separator: "\n")
            }
        }
    }
}
