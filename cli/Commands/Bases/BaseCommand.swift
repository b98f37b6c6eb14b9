import ArgumentParser
import Foundation
import Registry

/// `concepts base add|list|show` (CLI.md "Base models and encoders").
struct BaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "base", abstract: "Manage base models.", subcommands: [Add.self, List.self, Show.self])
}
