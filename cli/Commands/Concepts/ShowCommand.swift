import ArgumentParser
import Registry

/// `concepts show REF`.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one concept version.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "NAME, NAME@N or NAME@ALIAS.") var reference: String

    func run() throws {
        let d = try options.open().details(ConceptReference(parsing: reference))
        try output.emit(d) {
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
