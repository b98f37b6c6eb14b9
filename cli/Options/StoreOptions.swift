import ArgumentParser
import Foundation
import Registry

/// Where a command's store is: `--store DIR` (the root option, `GlobalOptions`; default:
/// `$CONCEPTS_STORE`, else `$XDG_DATA_HOME/concepts`, else `~/.local/share/concepts`).
struct StoreOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    var store: String? { global.store }

    var root: URL { store.map { URL(fileURLWithPath: $0) } ?? Store.defaultRoot() }

    /// Opens the store; commands that write create it when missing.
    func open(create: Bool = true) throws -> Store { try Store(root: root, create: create) }
}
