import ArgumentParser
import Registry

/// `concepts tag REF ALIAS`.
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Point an alias at a version (moving it if needed).")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument var reference: String
    @Argument var alias: String

    func run() throws {
        let r = try options.open().tag(ConceptReference(parsing: reference), alias: alias)
        try output.emit(r) { "\(r.name)@\(r.alias) → version \(r.version)" }
    }
}
