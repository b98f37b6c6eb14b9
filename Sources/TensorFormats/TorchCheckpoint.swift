import Foundation
import Tensors

/// PyTorch checkpoints as `torch.save` writes them since 1.6 (`.pt`, `.pth`, `.bin`, `.ckpt`):
/// a zip archive of stored entries
///
///     <prefix>/data.pkl        the pickled object (protocol 2); tensors as persistent ids
///     <prefix>/data/<key>      one raw little-endian storage per key
///     <prefix>/byteorder       "little" (torch ≥ 2.1), <prefix>/version "3\n", …
///
/// where `<prefix>` is the saved file's stem (or `archive`) — found, never assumed.
///
/// Reading runs `TorchUnpickler`, an allow-list pickle machine: plain data, `OrderedDict`, `set`,
/// tensors (`_rebuild_tensor_v2`, `_rebuild_parameter`, typed storages). Any other global or
/// opcode, and legacy non-zip files, are refused with an error naming them; nothing in the file is
/// ever executed. Tensors honour storage offsets and strides and come back contiguous: views
/// that are already contiguous (a row of an embedding matrix) are zero-copy slices of the
/// memory-mapped file, others are gathered.
public enum TorchCheckpoint {
    /// The pickled object of the checkpoint at `path`, tensors materialised contiguous.
    public static func read(path: String) throws -> PickleValue {
        let bytes = try MappedFile.map(path: path)
        try checkSignature(bytes, path: path)
        let archive = try ZipArchive(bytes: bytes, path: path)
        let prefix = try archivePrefix(archive)
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: try archive.data(of: order).data, as: UTF8.self)
            guard text == "little" else { throw TorchCheckpointError.unsupportedByteOrder(text, path: path) }
        }
        let pickle = try archive.verifiedData(named: prefix + "data.pkl")
        var cache: [String: TorchStorage] = [:]
        let unpickler = TorchUnpickler(path: path) { key, dtype, count in
            if let cached = cache[key], cached.dtype == dtype, cached.elementCount == count { return cached }
            guard let entry = archive.entry(named: prefix + "data/" + key) else {
                throw TorchCheckpointError.missingStorage(key: key, path: path)
            }
            let data = try archive.data(of: entry)
            let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, data.count >= needed else {
                throw TorchCheckpointError.storageTooSmall(
                    key: key, expectedBytes: overflow ? Int.max : needed, actualBytes: data.count, path: path)
            }
            let storage = TorchStorage(key: key, dtype: dtype, elementCount: count, bytes: data.slice(0..<needed))
            cache[key] = storage
            return storage
        }
        return try unpickler.unpickle(pickle)
    }

    /// The pickled magic number 0x1950a86a20f9469cfc6c that starts legacy `torch.save` files.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Refuses files that are not zip archives, naming legacy torch files as such.
    static func checkSignature(_ bytes: ByteBuffer, path: String) throws {
        try bytes.withUnsafeBytes { raw in
            if raw.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return }
            if raw.starts(with: legacyMagic) { throw TorchCheckpointError.legacyFormat(path: path) }
            throw TorchCheckpointError.notZip(path: path)
        }
    }

    /// `"<prefix>/"` of the single `<prefix>/data.pkl` entry.
    static func archivePrefix(_ archive: ZipArchive) throws -> String {
        let prefixes = archive.entries.compactMap { entry -> String? in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[1] == "data.pkl", !parts[0].isEmpty else { return nil }
            return String(parts[0])
        }
        guard let prefix = prefixes.first else { throw TorchCheckpointError.missingDataPickle(path: archive.path) }
        guard prefixes.count == 1 else { throw TorchCheckpointError.ambiguousArchive(prefixes: prefixes, path: archive.path) }
        return prefix + "/"
    }
}
