import ArgumentParser
import Registry

/// `concepts init` — creates the store explicitly.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the store (commands that write also create it).")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions

    struct Result: Encodable { let store: String }

    func run() throws {
        let store = try options.open(create: true)
        try output.emit(Result(store: store.root.path)) { "store at \(store.root.path)" }
    }
}
