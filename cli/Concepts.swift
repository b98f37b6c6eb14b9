import ArgumentParser
import Foundation
import Tensors

/// `concepts` — the ConceptRegistry command line (contract: ../shared/docs/CLI.md).
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
            let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            FileHandle.standardError.write(Data("error: \(text)\n".utf8))
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

/// The root options of CLI.md ("Conventions"): `concepts [--store DIR] COMMAND …`, accepted by every
/// command. The root command and every subcommand include this group; ArgumentParser decodes it once
/// (while parsing the root, which reads `--store` wherever it stands on the command line) and hands
/// the same value to each later `@OptionGroup` of this type, so `concepts --store S list` and
/// `concepts list --store S` mean the same.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $CONCEPTS_STORE, $XDG_DATA_HOME/concepts or ~/.local/share/concepts).")
    var store: String?
}
