import ArgumentParser
import Foundation
import Registry

extension TokenCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (names, scopes, dates; never the secrets).")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            struct Tokens: Encodable { let tokens: [APITokenInfo] }
            let tokens = try options.open().tokens()
            try output.emit(Tokens(tokens: tokens)) {
                tokens.isEmpty ? "no tokens"
                    : tokens.map { "\($0.name)\t\($0.scope.rawValue)\tcreated \($0.createdAt)\tlast used \($0.lastUsedAt ?? "never")" }.joined(separator: "\n")
            }
        }
    }
}
