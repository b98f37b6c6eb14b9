import ArgumentParser

/// `concepts convert FILE OUT.safetensors [--json]` — placeholder until the writers land.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "convert", abstract: "Convert a tensor file to safetensors.")
    @Argument var file: String
    @Argument var output: String
    @Flag var json = false
    func run() throws { throw CLIFailure(message: "convert: not implemented yet") }
}
