import ArgumentParser

/// `concepts store copy` (CLI.md "Service and remote stores").
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Move a whole store between backends.", subcommands: [Copy.self])
}
