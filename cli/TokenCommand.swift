import ArgumentParser
import Foundation
import Registry

/// `concepts token create NAME --scope read|write|admin` / `token list` / `token revoke NAME`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage the bearer tokens `concepts serve` accepts (only their SHA-256 is stored).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it once.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Token name (for list and revoke).") var name: String
        @Option(help: "read, write or admin.") var scope: String

        func validate() throws {
            guard TokenScope(rawValue: scope) != nil else { throw ValidationError("--scope must be read, write or admin") }
        }

        func run() throws {
            let created = try options.open().createToken(name: name, scope: TokenScope(rawValue: scope) ?? .read)
            try options.emit(created) { "\(created.token)\n(token '\(created.name)', scope \(created.scope.rawValue); it is shown only now)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (names, scopes, dates; never the secrets).")
        @OptionGroup var options: StoreOptions

        func run() throws {
            struct Tokens: Encodable { let tokens: [APITokenInfo] }
            let tokens = try options.open().tokens()
            try options.emit(Tokens(tokens: tokens)) {
                tokens.isEmpty ? "no tokens"
                    : tokens.map { "\($0.name)\t\($0.scope.rawValue)\tcreated \($0.createdAt)\tlast used \($0.lastUsedAt ?? "never")" }.joined(separator: "\n")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: requests presenting it get 401 from then on.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Token name.") var name: String

        func run() throws {
            try options.open(create: false).revokeToken(name: name)
            struct Revoked: Encodable { let name: String; let revoked: Bool }
            try options.emit(Revoked(name: name, revoked: true)) { "revoked \(name)" }
        }
    }
}
