import Foundation
#if canImport(Glibc)
import Glibc
import Tensors
#endif

/// Reading and writing the safetensors format (huggingface/safetensors, `README.md` "Format"):
///
///     [8 bytes: N, little-endian u64][N bytes: JSON header, space-padded][data buffer]
///
/// Reads memory-map the file and hand out tensors that point into the mapping (zero-copy); the
/// header is validated in full before any tensor is returned (see `SafetensorsHeader` for the
/// rules, `SafetensorsError` for what is refused). Writes produce the same bytes as
/// `safetensors.torch.save_file` (see `Safetensors+Writing.swift`); sharded checkpoints
/// (`*.safetensors.index.json`) read as one archive (`Safetensors+Sharded.swift`).
public enum Safetensors {
    // MARK: Reading

    /// Memory-maps and validates `path`; tensors point into the mapping (zero-copy), in file order.
    public static func read(path: String) throws -> TensorArchive {
        let mapped: ByteBuffer
        do {
            mapped = try MappedFile.map(path: path)
        } catch let failure as MappedFile.Failure {
            switch failure {
            case .cannotOpen(_, let reason), .cannotMap(_, let reason): throw SafetensorsError.cannotRead(path: path, reason: reason)
            }
        }
        return try read(bytes: mapped, source: path)
    }

    /// Validates an in-memory file; tensors are slices of `bytes` (zero-copy). `source` names it in errors.
    public static func read(bytes: ByteBuffer, source: String) throws -> TensorArchive {
        let header = try bytes.withUnsafeBytes { raw -> SafetensorsHeader in
            let length = try SafetensorsHeader.headerLength(prefix: raw, fileSize: raw.count, source: source)
            let headerBytes = Array(UnsafeRawBufferPointer(rebasing: raw[8..<8 + length]))
            return try SafetensorsHeader(headerBytes: headerBytes, fileSize: raw.count, source: source)
        }
        let tensors = try header.entries.map { entry -> (name: String, tensor: RawTensor) in
            let range = header.dataStart + entry.range.lowerBound..<header.dataStart + entry.range.upperBound
            return (entry.name, try RawTensor(dtype: entry.dtype, shape: entry.shape, bytes: bytes.slice(range)))
        }
        return TensorArchive(format: .safetensors, tensors: tensors, metadata: header.metadata)
    }

    /// The header only (names, dtypes, shapes in file order; metadata), read with two `pread`s
    /// and validated in full against the file's size, without mapping or touching tensor bytes.
    public static func readHeader(path: String) throws -> (entries: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String]) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafetensorsError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafetensorsError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SafetensorsError.cannotRead(path: path, reason: "not a regular file") }
        let fileSize = Int(info.st_size)

        let prefix = try readFully(fd: fd, count: min(8, fileSize), at: 0, path: path)
        let length = try prefix.withUnsafeBytes { raw in
            try SafetensorsHeader.headerLength(prefix: raw, fileSize: fileSize, source: path)
        }
        let headerBytes = try readFully(fd: fd, count: length, at: 8, path: path)
        let header = try SafetensorsHeader(headerBytes: headerBytes, fileSize: fileSize, source: path)
        return (header.entries.map { ($0.name, $0.dtype, $0.shape) }, header.metadata)
    }

    /// `count` bytes at `offset`, retrying short reads and `EINTR`.
    private static func readFully(fd: Int32, count: Int, at offset: Int, path: String) throws(SafetensorsError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress.map { $0 + done }, count - done, off_t(offset + done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw .cannotRead(path: path, reason: n == 0 ? "unexpected end of file" : String(cString: strerror(errno)))
            }
            done += n
        }
        return bytes
    }
}
