import ArgumentParser

/// `concepts inspect FILE [--json]` — placeholder until the tensor-format readers land.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "List the tensors of a safetensors or torch file.")
    @Argument var file: String
    @Flag var json = false
    func run() throws { throw CLIFailure(message: "inspect: not implemented yet") }
}
