import ArgumentParser
import Foundation
import TensorFormats

/// `concepts convert FILE OUT.safetensors [--json]` — rewrites any tensor file `inspect` reads as
/// one safetensors file: torch checkpoints flattened with `.` (views made contiguous, bytes copied
/// unchanged), safetensors metadata kept. Refuses whatever `inspect` refuses; the output is
/// written atomically, so nothing is written on error.
///
/// JSON (docs/CLI.md, "Files"): `{tensors: N, bytes}` (`bytes`: size of the written file).
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a tensor file (torch checkpoint or safetensors) to safetensors.")

    @Argument(help: "A .safetensors file, a sharded *.safetensors.index.json, or a torch .bin/.ckpt/.pt checkpoint.")
    var file: String

    @Argument(help: "The safetensors file to write.")
    var destination: String

    @OptionGroup var output: OutputOptions

    /// Accepted like every command's (CLI.md: a root option); a file command does not use the store.
    @OptionGroup(visibility: .hidden) var global: GlobalOptions

    struct Output: Encodable {
        var tensors: Int
        var bytes: Int
    }

    func run() throws {
        let archive = try TensorFile.read(path: file)
        try Safetensors.write(archive.tensors, metadata: archive.metadata, to: destination)
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let result = Output(tensors: archive.tensors.count, bytes: size)
        if output.json { return try JSONOutput.print(result) }
        print("wrote \(result.tensors) tensor\(result.tensors == 1 ? "" : "s") (\(result.bytes) bytes) to \(destination)")
    }
}
