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

    /// Runs the command, turning every thrown error into the CLI contract's `error:` line. First, OpenBLAS's
    /// kernels and threads (`BLASRuntime.start`: may re-execute once with `OPENBLAS_CORETYPE` set).
    static func main() {
        BLASRuntime.start()
        do {
            var command = try parseAsRoot(GlobalOptions.normalized(Array(CommandLine.arguments.dropFirst())))
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

/// `concepts [--store DIR] COMMAND …`: the store may be named before the command (CLI.md
/// "Conventions"). ArgumentParser binds options to the command that declares them, so a leading
/// `--store DIR` (or `--store=DIR`) is moved behind the command's own arguments, where every store
/// command's `StoreOptions` picks it up.
enum GlobalOptions {
    static func normalized(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--store", index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if argument.hasPrefix("--store=") {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        let terminator = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: leading, at: terminator)
        return rest
    }
}
