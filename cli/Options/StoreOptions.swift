import ArgumentParser
import Foundation
import Registry
import StoreBackends

/// Where a command's store is: `--store DIR` (default: `$CONCEPTS_STORE`, else
/// `$XDG_DATA_HOME/concepts`, else `~/.local/share/concepts`), and its backends `--catalog URL`
/// and `--blobs URL` (default: `catalog.sqlite` and `blobs/` in that directory) — root options
/// (`GlobalOptions`).
struct StoreOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    var store: String? { global.store }

    var root: URL { store.map { URL(fileURLWithPath: $0) } ?? Store.defaultRoot() }

    /// The store directory with `--catalog`/`--blobs` (or `$CONCEPTS_CATALOG`/`$CONCEPTS_BLOBS`).
    func location() throws -> StoreLocation {
        try StoreLocation(root: root, catalog: global.catalog, blobs: global.blobs)
    }

    /// Opens the store; commands that write create it when missing.
    func open(create: Bool = true) throws -> Store { try location().open(create: create) }
}
