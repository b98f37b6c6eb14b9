import ArgumentParser
import Registry

/// `concepts list [--base B] [--category C] [--tag T] [--search TEXT]`.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List concepts (latest versions).")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @Option var base: String?
    @Option var category: String?
    @Option var tag: String?
    @Option(help: "Full-text search over names, descriptions, categories, tokens and tags.") var search: String?

    struct Result: Encodable { let concepts: [ConceptSummary] }

    func run() throws {
        let concepts = try options.open().listConcepts(ConceptFilter(base: base, category: category, tag: tag, search: search))
        try output.emit(Result(concepts: concepts)) {
            concepts.isEmpty ? "no concepts" : concepts.map { c in
                "\(c.name)@\(c.latestVersion)\t\(c.base)\t\(c.tokens.map { "\($0.token) (\($0.category))" }.joined(separator: ", "))"
                    + (c.tags.isEmpty ? "" : "\t[\(c.tags.joined(separator: ", "))]")
            }.joined(separator: "\n")
        }
    }
}
