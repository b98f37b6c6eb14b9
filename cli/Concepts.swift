import ArgumentParser
import Foundation
import Tensors

/// `concepts` — the ConceptRegistry command line (contract: docs/CLI.md).
///
/// Errors print `error: <what went wrong>` on stderr and exit 1; usage errors exit 64.
@main
struct Concepts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concepts",
        abstract: "A concept registry and asset store for Custom Diffusion.",
        subcommands: CommandList.all
    )

    @OptionGroup var global: GlobalOptions

    /// Runs the command, turning every thrown error into the CLI contract's `error:` line. First, OpenBLAS's
    /// kernels and threads (`BLASRuntime.start`: may re-execute once with `OPENBLAS_CORETYPE` set).
    static func main() {
        BLASRuntime.start()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CLIFailure {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch {
            if isArgumentParserError(error) { exit(withError: error) }
            FileHandle.standardError.write(Data("error: \(ErrorMessages.describe(error))\n".utf8))
            Foundation.exit(1)
        }
    }

    /// ArgumentParser's own errors (help, version, usage) keep its messages and exit codes.
    private static func isArgumentParserError(_ error: Error) -> Bool {
        if error is ValidationError || error is CleanExit || error is ExitCode { return true }
        return String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}

/// An error with a ready message and exit status (1 unless stated).
struct CLIFailure: Error {
    var message: String
    var exitCode: Int32 = 1
}
