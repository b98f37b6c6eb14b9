import ArgumentParser
import Foundation
import Registry

extension RegsetCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write caption.txt, urls.txt, images.txt for diffusers' train_custom_diffusion.py --real_prior.")
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String
        @Option(help: "The directory to write (pass it as --class_data_dir).") var out: String

        func run() throws {
            let result = try options.open(create: false).exportRegset(name: name, to: URL(fileURLWithPath: out))
            try output.emit(result) {
                "wrote \(result.files.joined(separator: ", ")) (\(result.captions) captions; \(result.imagesCopied) images copied, "
                    + "\(result.imagesMissing) to download from urls.txt)"
            }
        }
    }
}
