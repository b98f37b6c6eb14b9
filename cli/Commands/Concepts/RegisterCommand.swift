import ArgumentParser
import CustomDiffusion
import Foundation
import Registry

/// `concepts register NAME --base BASE [--category C]… [--token T]… [--kind object|style]
/// [--compress POLICY] [--description TEXT] [--tag TAG]… [--force] PATH`.
struct RegisterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a Custom Diffusion output as the next version of a concept.",
        discussion: """
            PATH: a diffusers training output folder, an adobe delta.bin (plain or compressed) or a CompVis delta*.ckpt.
            POLICY: lossless, fp16, energy:R (the original code's rule, R = 0.6), rank:N, error:E (default \(CompressionPolicy.default)).
            """)

    @OptionGroup var options: StoreOptions

    @OptionGroup var output: OutputOptions
    @Argument(help: "Concept name; registering an existing name adds its next version.") var name: String
    @Option(help: "The base model the concept was fine-tuned from.") var base: String
    @Option(help: "Category of each token, once per token in order (e.g. cat).") var category: [String] = []
    @Option(help: "Token names, once per token (for CompVis files, which store none).") var token: [String] = []
    @Option(help: "object or style.", transform: ConceptKindChoice.parser(flag: "--kind")) var kind: ConceptKindChoice = .object
    @Option(help: "Compression policy.", transform: CompressionPolicyArgument.parse) var compress = CompressionPolicyArgument(.default)
    @Option(help: "Free-text description.") var description: String = ""
    @Option(help: "Alias to point at the new version (repeatable).") var tag: [String] = []
    @Flag(help: "Register even if the weights do not look fine-tuned from this base.") var force = false
    @Argument(help: "The training output to register.") var path: String

    func run() throws {
        let request = RegisterRequest(
            name: name, base: base, path: URL(fileURLWithPath: path), categories: category, tokens: token,
            kind: kind.kind, compression: compress.policy,
            description: description, tags: tag, force: force)
        let result = try ConceptRegistrar.register(request, in: try options.open())
        try output.emit(result) {
            "registered \(result.name)@\(result.version) on \(result.base): "
                + result.tokens.map { "\($0.token) (\($0.category))" }.joined(separator: ", ")
                + ", \(formatBytes(result.storedBytes)) stored (\(result.compression.policy), max relative error \(String(format: "%.2e", result.compression.maxRelativeError)))"
        }
    }
}
