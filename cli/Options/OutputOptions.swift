import ArgumentParser
import Foundation

/// `--json` (CLI.md "Conventions"): exactly one JSON object on stdout instead of readable text.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print exactly one JSON object on stdout.")
    var json = false

    /// Prints `value` as JSON with `--json`, else the readable `text`.
    func emit<T: Encodable>(_ value: T, text: () -> String) throws {
        if json { try JSONOutput.print(value) } else { print(text()) }
    }
}
