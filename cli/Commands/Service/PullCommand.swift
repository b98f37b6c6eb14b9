import ArgumentParser
import Foundation
import RegistryClient

/// `concepts pull URL REF… [--compose] [--regset R] [--format F] [--token T] --out DIR`.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch concepts or a composition from a `concepts serve`, verified, into a folder diffusers loads.",
        discussion: """
            Files are kept in a content-addressed cache ($XDG_CACHE_HOME/concepts, else ~/.cache/concepts): a second pull
            of the same files downloads nothing; interrupted downloads resume. Several REFs without --compose go to DIR/<name>/.
            The token is also read from $CONCEPTS_TOKEN.
            """)

    @Argument(help: "Server URL, e.g. http://127.0.0.1:8740.") var url: String
    @Argument(help: "Concept references (NAME, NAME@N, NAME@ALIAS).") var references: [String]
    @Flag(help: "Compose the concepts on the server and pull the composition.") var compose = false
    @Option(help: "Regularization set for --compose (default: the shipped default set).") var regset: String?
    @Option(help: "diffusers, lora, compvis or adobe.", transform: ExportFormatChoice.parser(flag: "--format")) var format: ExportFormatChoice = .diffusers
    @Option(help: "Bearer token (default: $CONCEPTS_TOKEN).") var token: String?
    @Option(help: "Output directory.") var out: String
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !references.isEmpty else { throw ValidationError("name at least one concept") }
        guard regset == nil || compose else { throw ValidationError("--regset needs --compose") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let request = PullRequest(server: url, references: references, compose: compose, regset: regset, format: format.rawValue,
                                  token: token ?? environment["CONCEPTS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                                  output: URL(fileURLWithPath: out), cache: ContentCache(root: ContentCache.defaultRoot(environment: environment)))
        let result = try runAsync { try await RegistryPuller().pull(request) }
        if output.json {
            try JSONOutput.print(result)
        } else {
            print(result.files.joined(separator: "\n"))
            print("\(formatBytes(result.downloadedBytes)) downloaded, \(formatBytes(result.cachedBytes)) from the cache"
                  + (result.compositionID.map { ", composition \($0)" } ?? ""))
            for (reference, token) in (result.tokens ?? [:]).sorted(by: { $0.key < $1.key }) { print("\(reference) → \(token)") }
        }
    }
}
