import Foundation
#if canImport(Glibc)
import Glibc
import Tensors
#endif

/// Writing safetensors files byte-identical to the Rust crate's (`safetensors::serialize`, which
/// `safetensors.torch.save_file` calls):
///
/// - tensors ordered by dtype, largest alignment first (the crate sorts by its `Dtype` enum in
///   reverse: I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL), then by name (bytewise), so every
///   tensor starts at an offset that is a multiple of its element size;
/// - header `{"__metadata__":{…},"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]},…}` with no
///   whitespace, strings escaped as serde_json does, `__metadata__` omitted when empty;
/// - header padded with spaces to a multiple of 8 bytes, so the data buffer starts 8-aligned.
///
/// The crate writes `__metadata__` from a hash map, so with two or more metadata keys its key order
/// varies from run to run; here they are sorted (bytewise). With at most one key the output is
/// byte-identical to the crate's.
extension Safetensors {
    /// Serialises `tensors` (any order; names must be unique and not `__metadata__`) with `metadata`.
    public static func encode(_ tensors: [(name: String, tensor: RawTensor)], metadata: [String: String]) throws -> Data {
        let (header, ordered) = try layout(tensors, metadata: metadata, destination: "<memory>")
        var data = Data(capacity: header.count + ordered.reduce(0) { $0 + $1.tensor.byteCount })
        data.append(contentsOf: header)
        for (_, tensor) in ordered {
            tensor.bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress { data.append(base.assumingMemoryBound(to: UInt8.self), count: raw.count) }
            }
        }
        return data
    }

    /// Writes atomically: a temporary file in the same directory, `fsync`, `rename` over `path`,
    /// then `fsync` of the directory. Tensor bytes are written straight from their buffers.
    public static func write(_ tensors: [(name: String, tensor: RawTensor)], metadata: [String: String], to path: String) throws {
        let (header, ordered) = try layout(tensors, metadata: metadata, destination: path)
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func failure(_ what: String) -> SafetensorsError {
            .cannotWrite(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create a temporary file in \(directory)") }
        do {
            try header.withUnsafeBytes { raw in try writeAll(fd: fd, raw, path: path) }
            for (_, tensor) in ordered {
                try tensor.bytes.withUnsafeBytes { raw in try writeAll(fd: fd, raw, path: path) }
            }
            guard fsync(fd) == 0 else { throw failure("fsync") }
            guard close(fd) == 0 else { throw failure("close") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = failure("rename")
            unlink(temporary)
            throw error
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)  // best effort: the rename is durable once the directory is synced
            close(directoryFD)
        }
    }

    // MARK: Layout

    /// The crate's `Dtype` enum order restricted to the project's dtypes; sorting by it in reverse
    /// puts the widest elements first.
    static func orderRank(_ dtype: DType) -> Int {
        switch dtype {
        case .bool: 0
        case .uint8: 1
        case .int8: 2
        case .int16: 3
        case .float16: 4
        case .bfloat16: 5
        case .int32: 6
        case .float32: 7
        case .float64: 8
        case .int64: 9
        }
    }

    /// The 8-byte length, the padded header, and the tensors in file order.
    static func layout(
        _ tensors: [(name: String, tensor: RawTensor)], metadata: [String: String], destination: String
    ) throws(SafetensorsError) -> (header: [UInt8], ordered: [(name: String, tensor: RawTensor)]) {
        var seen = Set<String>()
        for (name, _) in tensors {
            guard name != "__metadata__" else {
                throw .invalidTensorName(path: destination, name: name, reason: "the name __metadata__ is reserved for the header's metadata")
            }
            guard seen.insert(name).inserted else { throw .duplicateName(path: destination, name: name) }
        }
        let ordered = tensors.sorted { a, b in
            let (ra, rb) = (orderRank(a.tensor.dtype), orderRank(b.tensor.dtype))
            return ra != rb ? ra > rb : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }

        var json = "{"
        var members: [String] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let pairs = keys.map { SafetensorsJSON.quoted($0) + ":" + SafetensorsJSON.quoted(metadata[$0] ?? "") }
            members.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, tensor) in ordered {
            let end = offset + tensor.byteCount
            members.append(
                SafetensorsJSON.quoted(name) + ":{\"dtype\":\"\(tensor.dtype.safetensorsName)\",\"shape\":["
                    + tensor.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        json += members.joined(separator: ",") + "}"

        var header = Array(json.utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { header.insert(contentsOf: $0, at: 0) }
        return (header, ordered)
    }

    /// Writes every byte of `raw`, in chunks of at most 1 GiB, retrying short writes and `EINTR`.
    private static func writeAll(fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws(SafetensorsError) {
        guard let base = raw.baseAddress else { return }
        var done = 0
        while done < raw.count {
            let n = posixWrite(fd, base + done, min(raw.count - done, 1 << 30))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .cannotWrite(path: path, reason: "write: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}

/// `write(2)`, at file scope so that the name does not resolve to `Safetensors.write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
