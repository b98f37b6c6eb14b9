import ArgumentParser
import Foundation
import Registry

/// `concepts encoder add|list` (CLI.md "Base models and encoders").
struct EncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder", abstract: "CLIP text encoders for caption retrieval.", subcommands: [Add.self, List.self])
}
