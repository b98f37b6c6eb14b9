import ArgumentParser
import CustomDiffusion
import Foundation
import Registry

/// `concepts compose REF… [--regset NAME] [--format diffusers|lora|compvis|adobe] [--no-cache] --out DIR`.
struct ComposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Merge concepts into one model update with the closed-form constrained least-squares solve.",
        discussion: "Without --regset, the default regularization captions that ship with the project are used.")

    @OptionGroup var options: StoreOptions

    @OptionGroup var output: OutputOptions
    @Argument(help: "Concept references (NAME, NAME@N, NAME@ALIAS), all on one base.") var references: [String]
    @Option(help: "Regularization set (default: the shipped default set).") var regset: String?
    @Option(help: "diffusers, lora, compvis or adobe.", transform: ExportFormatChoice.parser(flag: "--format")) var format: ExportFormatChoice = .diffusers
    @Flag(name: .customLong("no-cache"), help: "Recompute even if this composition was made before.") var noCache = false
    @Option(help: "Output directory.") var out: String

    func validate() throws {
        guard !references.isEmpty else { throw ValidationError("name at least one concept") }
    }

    func run() throws {
        let store = try options.open(create: false)
        let result = try store.compose(ComposeRequest(references: references, regset: regset, format: format.format,
                                                      output: URL(fileURLWithPath: out), useCache: !noCache))
        try output.emit(result) {
            var lines = ["composition \(result.compositionID) on \(result.base)\(result.cached ? " (cached)" : "") in \(String(format: "%.3f", result.seconds)) s",
                         "regularization set \(result.regset): κ(Σ) = \(String(format: "%.3g", result.sigmaCondition))"
                             + (result.sigmaDroppedDirections > 0 ? ", \(result.sigmaDroppedDirections) null direction(s) of Σ left out (pseudo-inverse)" : ""),
                         "\(result.targets) target rows (\(result.droppedDuplicateRows) duplicates dropped); max constraint residual "
                             + String(format: "%.2e", result.maxConstraintResidual) + ", regularization drift " + String(format: "%.2e", result.regularizationDrift)]
            lines += result.concepts.map { "  \($0.reference) (\($0.version)) → \($0.tokens.joined(separator: " "))" }
            lines += result.files.map { "  wrote \($0)" }
            return lines.joined(separator: "\n")
        }
    }
}
