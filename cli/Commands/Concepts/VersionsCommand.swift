import ArgumentParser
import Registry

/// `concepts versions NAME`.
struct VersionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "versions", abstract: "List a concept's versions.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument var name: String

    struct Result: Encodable {
        let name: String
        let versions: [VersionSummary]
    }

    func run() throws {
        let versions = try options.open().versions(of: name)
        try output.emit(Result(name: name, versions: versions)) {
            versions.map { "\($0.version)\t\($0.createdAt)\t\(formatBytes($0.storedBytes))\t\($0.aliases.joined(separator: ", "))" }.joined(separator: "\n")
        }
    }
}
