import ArgumentParser
import Foundation
import Registry

/// `concepts regset create|export|list|show` (CLI.md "Captions and regularization sets").
struct RegsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regset", abstract: "Regularization sets: captions for a concept's prior, and Σ for the merge.",
        subcommands: [Create.self, Export.self, List.self, Show.self])
}
