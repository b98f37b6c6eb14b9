import ArgumentParser
import CustomDiffusion
import Foundation
import Registry

/// `concepts export REF --format diffusers|lora|compvis|adobe --out DIR`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a concept version in a format other tools load.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "NAME, NAME@N or NAME@ALIAS.") var reference: String
    @Option(help: "diffusers, lora, compvis or adobe.", transform: ExportFormatChoice.parser(flag: "--format")) var format: ExportFormatChoice
    @Option(help: "Output directory.") var out: String

    func run() throws {
        let store = try options.open(create: false)
        let result = try store.export(ConceptReference(parsing: reference), format: format.format,
                                      to: URL(fileURLWithPath: out))
        try output.emit(result) { result.files.joined(separator: "\n") }
    }
}
