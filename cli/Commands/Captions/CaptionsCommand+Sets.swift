import ArgumentParser
import Foundation
import Registry

extension CaptionsCommand {
    struct Sets: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List caption sets.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        struct Result: Encodable { let sets: [CaptionSetInfo] }

        func run() throws {
            let sets = try options.open().captionSets()
            try output.emit(Result(sets: sets)) {
                sets.isEmpty ? "no caption sets" : sets.map { "\($0.name)\t\($0.captions) captions\td = \($0.dimension)\t\($0.encoder ?? "-")" }.joined(separator: "\n")
            }
        }
    }
}
