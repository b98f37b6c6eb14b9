import ArgumentParser
import Foundation
import Registry

/// `--store DIR` (the root option, `GlobalOptions`; default: `$CONCEPTS_STORE`, else
/// `$XDG_DATA_HOME/concepts`, else `~/.local/share/concepts`) and `--json`, shared by every store command.
struct StoreOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    var store: String? { global.store }

    @Flag(name: .long, help: "Print exactly one JSON object on stdout.")
    var json = false

    var root: URL { store.map { URL(fileURLWithPath: $0) } ?? Store.defaultRoot() }

    /// Opens the store; commands that write create it when missing.
    func open(create: Bool = true) throws -> Store { try Store(root: root, create: create) }

    /// Prints `value` as JSON with `--json`, else the readable `text`.
    func emit<T: Encodable>(_ value: T, text: () -> String) throws {
        if json { try JSONOutput.print(value) } else { print(text()) }
    }
}

/// Progress lines on stderr, only when stderr is a terminal (CLI.md "Conventions").
enum Progress {
    static let enabled = isatty(STDERR_FILENO) != 0
    static func report(_ line: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }
}

/// Human-readable byte counts for text output.
func formatBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(n), unit = 0
    while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
}
