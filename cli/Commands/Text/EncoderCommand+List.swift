import ArgumentParser
import Foundation
import Registry

extension EncoderCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered encoders.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        struct Result: Encodable { let encoders: [CaptionEncoderInfo] }

        func run() throws {
            let encoders = try options.open().captionEncoders()
            try output.emit(Result(encoders: encoders)) {
                encoders.isEmpty ? "no encoders" : encoders.map { "\($0.name)\thidden \($0.hiddenSize)\tprojection \($0.projectionDim)" }.joined(separator: "\n")
            }
        }
    }
}
