import ArgumentParser
import Foundation
import Registry

/// `concepts captions import|search|sets` (CLI.md "Captions and regularization sets").
struct CaptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captions", abstract: "Import and search captions with CLIP text embeddings.",
        subcommands: [Import.self, Search.self, Sets.self])
}
