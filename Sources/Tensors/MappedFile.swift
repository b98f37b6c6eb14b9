import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Maps a whole file read-only into memory (`mmap(PROT_READ, MAP_PRIVATE)`), so that tensors can
/// point into it without copying. The mapping lives as long as any `ByteBuffer` borrowed from it.
public enum MappedFile {
    public enum Failure: Error, LocalizedError, Equatable {
        case cannotOpen(path: String, reason: String)
        case cannotMap(path: String, reason: String)
        public var errorDescription: String? {
            switch self {
            case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
            case .cannotMap(let path, let reason): "cannot map \(path) into memory: \(reason)"
            }
        }
    }

    /// The file's bytes, memory-mapped.
    public static func map(path: String) throws -> ByteBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw Failure.cannotOpen(path: path, reason: "not a regular file") }
        let length = Int(info.st_size)
        guard length > 0 else { return ByteBuffer(borrowing: nil, count: 0, owner: Mapping(address: nil, length: 0)) }
        let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw Failure.cannotMap(path: path, reason: String(cString: strerror(errno)))
        }
        return ByteBuffer(borrowing: UnsafeRawPointer(address), count: length, owner: Mapping(address: address, length: length))
    }
}

/// Owns one `mmap` region and unmaps it when the last borrower goes away.
private final class Mapping: FileMappingOwner {
    let address: UnsafeMutableRawPointer?
    let length: Int
    init(address: UnsafeMutableRawPointer?, length: Int) {
        self.address = address
        self.length = length
    }
    deinit {
        if let address { munmap(address, length) }
    }
}
