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
    @Argument(help: "Concept name; registering an existing name adds its next version.") var name: String
    @Option(help: "The base model the concept was fine-tuned from.") var base: String
    @Option(help: "Category of each token, once per token in order (e.g. cat).") var category: [String] = []
    @Option(help: "Token names, once per token (for CompVis files, which store none).") var token: [String] = []
    @Option(help: "object or style.") var kind: String = "object"
    @Option(help: "Compression policy.") var compress: String = CompressionPolicy.default.description
    @Option(help: "Free-text description.") var description: String = ""
    @Option(help: "Alias to point at the new version (repeatable).") var tag: [String] = []
    @Flag(help: "Register even if the weights do not look fine-tuned from this base.") var force = false
    @Argument(help: "The training output to register.") var path: String

    func validate() throws {
        guard RegisterRequest.Kind(rawValue: kind) != nil else { throw ValidationError("--kind must be object or style") }
        do { _ = try CompressionPolicy(parsing: compress) } catch { throw ValidationError(error.localizedDescription) }
    }

    func run() throws {
        let request = RegisterRequest(
            name: name, base: base, path: URL(fileURLWithPath: path), categories: category, tokens: token,
            kind: RegisterRequest.Kind(rawValue: kind) ?? .object, compression: try CompressionPolicy(parsing: compress),
            description: description, tags: tag, force: force)
        let result = try options.open().register(request)
        try options.emit(result) {
            "registered \(result.name)@\(result.version) on \(result.base): "
                + result.tokens.map { "\($0.token) (\($0.category))" }.joined(separator: ", ")
                + ", \(formatBytes(result.storedBytes)) stored (\(result.compression.policy), max relative error \(String(format: "%.2e", result.compression.maxRelativeError)))"
        }
    }
}

/// `concepts export REF --format diffusers|lora|compvis|adobe --out DIR`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a concept version in a format other tools load.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "NAME, NAME@N or NAME@ALIAS.") var reference: String
    @Option(help: "diffusers, lora, compvis or adobe.") var format: String
    @Option(help: "Output directory.") var out: String

    func validate() throws {
        guard ExportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let store = try options.open(create: false)
        let result = try store.export(ConceptReference(parsing: reference), format: ExportFormat(rawValue: format) ?? .diffusers,
                                      to: URL(fileURLWithPath: out))
        try options.emit(result) { result.files.joined(separator: "\n") }
    }
}
