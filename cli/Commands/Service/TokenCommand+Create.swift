import ArgumentParser
import Foundation
import Registry

extension TokenCommand {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it once.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Token name (for list and revoke).") var name: String
        @Option(help: "read, write or admin.", transform: TokenScopeChoice.parser(flag: "--scope")) var scope: TokenScopeChoice

        func run() throws {
            let created = try options.open().createToken(name: name, scope: scope.scope)
            try output.emit(created) { "\(created.token)\n(token '\(created.name)', scope \(created.scope.rawValue); it is shown only now)" }
        }
    }
}
