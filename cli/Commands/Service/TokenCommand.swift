import ArgumentParser
import Foundation
import Registry

/// `concepts token create NAME --scope read|write|admin` / `token list` / `token revoke NAME`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage the bearer tokens `concepts serve` accepts (only their SHA-256 is stored).",
        subcommands: [Create.self, List.self, Revoke.self])
}
