import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The pieces of crash-safe blob writes (`BlobStore.Batch`): unsynced temporary files, then one
/// `syncfs` before and one after renaming them into place, so a name is visible only for complete,
/// durable bytes.
public enum DurableFile {
    /// Writes `data` to a new unique file in `directory` without syncing (see `BlobStore.Batch`).
    public static func writeTemporary(_ data: Data, in directory: URL, name: String) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tmp = directory.appendingPathComponent(".\(name).\(getpid()).\(UUID().uuidString).tmp")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegistryError.io(path: tmp.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        do {
            try writeAll(data, to: fd, path: tmp.path)
        } catch {
            unlink(tmp.path)
            throw error
        }
        return tmp
    }

    /// `write(2)` until every byte is written.
    private static func writeAll(_ data: Data, to fd: Int32, path: String) throws {
        try data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw RegistryError.io(path: path, reason: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
    }

    /// `syncfs` on the filesystem holding `path`: every written file and rename on it becomes durable.
    public static func syncFilesystem(containing path: URL) throws {
        let fd = open(path.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw RegistryError.io(path: path.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let syncfs = syncfsFunction else {
            sync()  // every filesystem: slower, same guarantee
            return
        }
        guard syncfs(fd) == 0 else { throw RegistryError.io(path: path.path, reason: "syncfs: " + String(cString: strerror(errno))) }
    }

    /// glibc's `syncfs(2)`, which its headers only declare under `_GNU_SOURCE` (so Swift's Glibc
    /// module does not see it): looked up once by name.
    private static let syncfsFunction: (@convention(c) (Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()
}
