import ArgumentParser
import Foundation
import TensorFormats

/// `concepts inspect FILE [--json]` — lists the tensors of a safetensors file (plain or a sharded
/// `*.index.json`) or a torch zip checkpoint (nested names joined with `.`), detected by content.
///
/// JSON (docs/CLI.md, "Files"): `{format, tensors: [{name, dtype, shape}], metadata}`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a safetensors or torch file.",
        discussion: "Torch checkpoints are read with an allow-list unpickler: nothing in the file is executed.")

    @Argument(help: "A .safetensors file, a sharded *.safetensors.index.json, or a torch .bin/.ckpt/.pt checkpoint.")
    var file: String

    @OptionGroup var output: OutputOptions

    /// Accepted like every command's (CLI.md: a root option); a file command does not use the store.
    @OptionGroup(visibility: .hidden) var global: GlobalOptions

    struct Output: Encodable {
        struct Tensor: Encodable {
            var name: String
            var dtype: String
            var shape: [Int]
        }
        var format: String
        var tensors: [Tensor]
        var metadata: [String: String]
    }

    func run() throws {
        let archive = try TensorFile.read(path: file)
        let listing = Output(
            format: archive.format.rawValue,
            tensors: archive.tensors.map { .init(name: $0.name, dtype: $0.tensor.dtype.safetensorsName, shape: $0.tensor.shape) },
            metadata: archive.metadata)
        if output.json { return try JSONOutput.print(listing) }
        print(Self.table(archive, path: file), terminator: "")
    }

    /// The readable listing: a header line, one row per tensor, metadata, and a total.
    static func table(_ archive: TensorArchive, path: String) -> String {
        let shapes = archive.tensors.map { "[" + $0.tensor.shape.map(String.init).joined(separator: ", ") + "]" }
        let nameWidth = max(4, archive.tensors.map(\.name.count).max() ?? 0)
        let shapeWidth = max(5, shapes.map(\.count).max() ?? 0)
        func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        var text = "\(path): \(archive.format.rawValue), \(archive.tensors.count) tensor\(archive.tensors.count == 1 ? "" : "s")\n"
        if !archive.tensors.isEmpty {
            text += pad("NAME", nameWidth) + "  " + pad("DTYPE", 5) + "  " + pad("SHAPE", shapeWidth) + "  BYTES\n"
            for (entry, shape) in zip(archive.tensors, shapes) {
                text += pad(entry.name, nameWidth) + "  " + pad(entry.tensor.dtype.safetensorsName, 5) + "  "
                    + pad(shape, shapeWidth) + "  \(entry.tensor.byteCount)\n"
            }
        }
        for key in archive.metadata.keys.sorted() {
            text += "metadata \(key): \(archive.metadata[key] ?? "")\n"
        }
        let total = archive.tensors.reduce(0) { $0 + $1.tensor.byteCount }
        text += "total \(total) bytes\n"
        return text
    }
}
