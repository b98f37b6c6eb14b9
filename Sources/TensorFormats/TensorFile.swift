import Foundation
import Tensors

/// Reads any tensor file by its content:
/// - a zip archive (`PK\u{3}\u{4}`) → a torch checkpoint (`TorchCheckpoint`), tensors flattened with
///   `.` along dict keys and list indices (`state_dict.model.…`);
/// - a name ending in `.index.json` → sharded safetensors (`Safetensors.readSharded`);
/// - a legacy `torch.save` pickle → refused as such; any other `.pt`/`.pth`/`.bin`/`.ckpt` file
///   that does not look like safetensors → `TorchCheckpointError.notZip`;
/// - anything else → safetensors (`Safetensors.read`), whose checks refuse non-tensor files.
public enum TensorFile {
    public static func read(path: String) throws -> TensorArchive {
        if path.hasSuffix(".index.json") { return try Safetensors.readSharded(indexPath: path) }
        let head = try prefix(of: path, count: TorchCheckpoint.legacyMagic.count)
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return try readTorch(path: path) }
        if head.starts(with: TorchCheckpoint.legacyMagic) { throw TorchCheckpointError.legacyFormat(path: path) }
        // A torch-named file that does not even look like safetensors (8-byte length, then `{`).
        let torchExtensions: Set<String> = ["pt", "pth", "bin", "ckpt"]
        if torchExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased()),
           head.count < 9 || head[8] != UInt8(ascii: "{") {
            throw TorchCheckpointError.notZip(path: path)
        }
        return try Safetensors.read(path: path)
    }

    /// A torch checkpoint's tensors, flattened; names must stay unique.
    public static func readTorch(path: String) throws -> TensorArchive {
        let tensors = try TorchCheckpoint.read(path: path).flattenedTensors()
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted {
            throw TorchCheckpointError.duplicateTensorName(name, path: path)
        }
        return TensorArchive(format: .torch, tensors: tensors)
    }

    private static func prefix(of path: String, count: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MappedFile.Failure.cannotOpen(path: path, reason: FileManager.default.fileExists(atPath: path)
                ? "permission denied" : "no such file")
        }
        defer { try? handle.close() }
        return Array((try? handle.read(upToCount: count)) ?? Data())
    }
}
