import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement: write a temporary file, `fsync` it, `rename` it over the target,
/// then `fsync` the directory so the rename itself survives a power cut. A reader sees either
/// the old file, the new file, or no file — never a partial one.
public enum DurableFile {
    public static func write(_ data: Data, to target: URL, temporaryDirectory: URL? = nil) throws {
        let tmpDir = temporaryDirectory ?? target.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: tmpDir, withIntermediateDirectories: true)
        let tmp = tmpDir.appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UUID().uuidString).tmp")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegistryError.io(path: tmp.path, reason: String(cString: strerror(errno))) }
        var ok = false
        defer {
            if !ok { unlink(tmp.path) }
        }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw RegistryError.io(path: tmp.path, reason: String(cString: strerror(errno)))
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw RegistryError.io(path: tmp.path, reason: "fsync: " + String(cString: strerror(errno))) }
        }
        guard rename(tmp.path, target.path) == 0 else {
            throw RegistryError.io(path: target.path, reason: "rename: " + String(cString: strerror(errno)))
        }
        ok = true
        syncDirectory(target.deletingLastPathComponent())
    }

    /// `fsync` on a directory, making a rename inside it durable.
    public static func syncDirectory(_ directory: URL) {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
