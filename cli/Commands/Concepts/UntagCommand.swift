import ArgumentParser
import Registry

/// `concepts untag NAME ALIAS`.
struct UntagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "untag", abstract: "Remove an alias.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument var name: String
    @Argument var alias: String

    func run() throws {
        let r = try options.open(create: false).untag(name: name, alias: alias)
        try output.emit(r) { "removed \(r.name)@\(r.alias) (was version \(r.version))" }
    }
}
