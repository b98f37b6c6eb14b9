import ArgumentParser
import Registry

/// `concepts list [--base B] [--category C] [--tag T] [--search TEXT]`.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List concepts (latest versions).")
    @OptionGroup var options: StoreOptions
    @Option var base: String?
    @Option var category: String?
    @Option var tag: String?
    @Option(help: "Full-text search over names, descriptions, categories, tokens and tags.") var search: String?

    struct Result: Encodable { let concepts: [ConceptSummary] }

    func run() throws {
        let concepts = try options.open().listConcepts(ConceptFilter(base: base, category: category, tag: tag, search: search))
        try options.emit(Result(concepts: concepts)) {
            concepts.isEmpty ? "no concepts" : concepts.map { c in
                "\(c.name)@\(c.latestVersion)\t\(c.base)\t\(c.tokens.map { "\($0.token) (\($0.category))" }.joined(separator: ", "))"
                    + (c.tags.isEmpty ? "" : "\t[\(c.tags.joined(separator: ", "))]")
            }.joined(separator: "\n")
        }
    }
}

/// `concepts show REF`.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one concept version.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "NAME, NAME@N or NAME@ALIAS.") var reference: String

    func run() throws {
        let d = try options.open().details(ConceptReference(parsing: reference))
        try options.emit(d) {
            var lines = ["\(d.name)@\(d.version) on \(d.base) (\(d.kind)), \(formatBytes(d.storedBytes)) stored, policy \(d.compression.policy)",
                         "tokens: " + d.tokens.map { "\($0.token) (\($0.category))" }.joined(separator: ", ")]
            if !d.description.isEmpty { lines.append("description: \(d.description)") }
            if !d.tags.isEmpty { lines.append("tags: \(d.tags.joined(separator: ", "))") }
            lines.append("created \(d.createdAt)" + (d.parentVersion.map { ", parent version \($0)" } ?? ""))
            lines += d.layers.map { "  \($0.name)  rank \($0.rank)  error \(String(format: "%.2e", $0.relativeError))" }
            return lines.joined(separator: "\n")
        }
    }
}

/// `concepts versions NAME`.
struct VersionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "versions", abstract: "List a concept's versions.")
    @OptionGroup var options: StoreOptions
    @Argument var name: String

    struct Result: Encodable {
        let name: String
        let versions: [VersionSummary]
    }

    func run() throws {
        let versions = try options.open().versions(of: name)
        try options.emit(Result(name: name, versions: versions)) {
            versions.map { "\($0.version)\t\($0.createdAt)\t\(formatBytes($0.storedBytes))\t\($0.aliases.joined(separator: ", "))" }.joined(separator: "\n")
        }
    }
}

/// `concepts tag REF ALIAS`.
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Point an alias at a version (moving it if needed).")
    @OptionGroup var options: StoreOptions
    @Argument var reference: String
    @Argument var alias: String

    func run() throws {
        let r = try options.open().tag(ConceptReference(parsing: reference), alias: alias)
        try options.emit(r) { "\(r.name)@\(r.alias) → version \(r.version)" }
    }
}

/// `concepts untag NAME ALIAS`.
struct UntagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "untag", abstract: "Remove an alias.")
    @OptionGroup var options: StoreOptions
    @Argument var name: String
    @Argument var alias: String

    func run() throws {
        let r = try options.open(create: false).untag(name: name, alias: alias)
        try options.emit(r) { "removed \(r.name)@\(r.alias) (was version \(r.version))" }
    }
}
