import ArgumentParser
import Foundation
import Registry

extension TokenCommand {
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: requests presenting it get 401 from then on.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Token name.") var name: String

        func run() throws {
            try options.open(create: false).revokeToken(name: name)
            struct Revoked: Encodable { let name: String; let revoked: Bool }
            try output.emit(Revoked(name: name, revoked: true)) { "revoked \(name)" }
        }
    }
}
