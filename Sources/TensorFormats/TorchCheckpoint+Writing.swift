import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension TorchCheckpoint {
    /// Writes `value` as a `torch.save`-style zip checkpoint that `torch.load(path, weights_only=True)`
    /// reads: `<stem>/data.pkl` (protocol 2, `PickleWriter`), `.format_version`, `.storage_alignment`,
    /// `byteorder`, one `data/<key>` per tensor (64-byte aligned), and `version` — the entries and
    /// order torch 2.x writes. Dicts, OrderedDicts, lists, tuples, sets, ints, floats, strings,
    /// bools, None and tensors can be written (not `bytes`).
    ///
    /// Atomic: written to a temporary file in the same directory, fsynced, then renamed over `path`;
    /// on error nothing is left behind.
    public static func write(_ value: PickleValue, to path: String) throws {
        try write(value, to: path, forceZip64: false)
    }

    /// `write` with ZIP64 extra fields on every entry when `forceZip64` (tests cover the large-file path).
    static func write(_ value: PickleValue, to path: String, forceZip64: Bool) throws {
        let (pickle, storages) = try PickleWriter.pickle(value, path: path)
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let prefix = (stem.isEmpty ? "archive" : stem) + "/"
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TorchCheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            var zip = ZipWriter(fileDescriptor: fd, path: path)
            zip.forceZip64 = forceZip64
            try zip.add(name: prefix + "data.pkl", bytes: pickle)
            try zip.add(name: prefix + ".format_version", bytes: Array("1".utf8))
            try zip.add(name: prefix + ".storage_alignment", bytes: Array("64".utf8))
            try zip.add(name: prefix + "byteorder", bytes: Array("little".utf8))
            for (key, tensor) in storages.enumerated() {
                try tensor.bytes.withUnsafeBytes { try zip.add(name: prefix + "data/\(key)", data: $0) }
            }
            try zip.add(name: prefix + "version", bytes: Array("3\n".utf8))
            try zip.finish()
            guard fsync(fd) == 0 else { throw TorchCheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
            closed = true
            guard close(fd) == 0 else { throw TorchCheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
            guard rename(temporary, path) == 0 else {
                throw TorchCheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            unlink(temporary)
            throw error
        }
        // Make the rename durable.
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }
}
