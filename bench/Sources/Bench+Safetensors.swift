import Foundation
import TensorFormats
#if canImport(Glibc)
import Glibc
import Tensors
#endif

/// Suite `safetensors`: reading a ~1 GB safetensors file (40 F32 tensors of 1280×5120, the size of
/// SD1.x's largest linear layers) against the disk/page-cache limit.
///
/// Figures (warm page cache, median of 3 unless marked cold):
/// - `read_gbps`: `Safetensors.read(path:)` (mmap + full header validation) then touching one byte
///   of every 4 KB page of every tensor — what it costs to make all tensor bytes resident.
/// - `read_checksum_gbps`: the same, then summing every 8-byte word of every tensor (a full pass).
/// - `sequential_read_gbps`: plain `read(2)` of the whole file in 8 MB chunks into one buffer: the limit.
/// - `cold_*`: one run each after `posix_fadvise(POSIX_FADV_DONTNEED)` evicted the file's pages.
/// - `write_gbps`: `Safetensors.write` (only when the file had to be (re)created).
///
/// The file lives at `bench/out/safetensors-1gb.safetensors` and is reused when its header and size match.
enum SafetensorsBench {
    static let tensorCount = 40
    static let shape = [1280, 5120]
    static let runs = 3

    static let suite = BenchSuite(name: "safetensors") {
        let (path, writeSeconds) = try prepareFile()
        let bytes = Double(fileSize(path))
        var figures: [String: Any] = ["file_bytes": Int(bytes), "tensors": tensorCount, "runs": runs, "path": path]
        if let writeSeconds { figures["write_gbps"] = bytes / writeSeconds / 1e9 }

        consume(try touchPages(path))  // warm the page cache
        figures["read_gbps"] = bytes / (try medianSeconds(runs: runs) { consume(try touchPages(path)) }) / 1e9
        figures["read_checksum_gbps"] = bytes / (try medianSeconds(runs: runs) { consume(try checksum(path)) }) / 1e9
        figures["sequential_read_gbps"] = bytes / (try medianSeconds(runs: runs) { try sequentialRead(path) }) / 1e9

        evict(path)
        figures["cold_read_gbps"] = bytes / (try measureSeconds { consume(try touchPages(path)) }) / 1e9
        evict(path)
        figures["cold_sequential_read_gbps"] = bytes / (try measureSeconds { try sequentialRead(path) }) / 1e9
        return figures
    }

    // MARK: The file

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Sources
        .deletingLastPathComponent()  // bench
        .appendingPathComponent("out")

    /// Writes the file unless a complete one is already there; the write's duration when it wrote.
    static func prepareFile() throws -> (path: String, writeSeconds: Double?) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("safetensors-1gb.safetensors").path
        let tensorBytes = shape.reduce(4, *)
        if let header = try? Safetensors.readHeader(path: path),  // validated against the file size
           header.entries.count == tensorCount, header.entries.allSatisfy({ $0.dtype == .float32 && $0.shape == shape }) {
            return (path, nil)
        }
        // One buffer of deterministic values shared by every tensor (the values do not matter, only the size).
        let buffer = ByteBuffer(unsafeUninitializedCount: tensorBytes) { out in
            let words = out.bindMemory(to: UInt32.self)
            for i in words.indices { words[i] = UInt32(truncatingIfNeeded: i &* 2654435761) }
        }
        let tensors = try (0..<tensorCount).map { i in
            (name: "layers.\(i).weight", tensor: try RawTensor(dtype: .float32, shape: shape, bytes: buffer))
        }
        FileHandle.standardError.write(Data("bench: writing \(path)…\n".utf8))
        let seconds = try measureSeconds { try Safetensors.write(tensors, metadata: ["format": "pt"], to: path) }
        return (path, seconds)
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    // MARK: Measured operations

    /// Maps and validates, then reads one byte per 4 KB page of every tensor.
    static func touchPages(_ path: String) throws -> UInt64 {
        let archive = try Safetensors.read(path: path)
        var sum: UInt64 = 0
        for (_, tensor) in archive.tensors {
            tensor.bytes.withUnsafeBytes { raw in
                for offset in stride(from: 0, to: raw.count, by: 4096) { sum &+= UInt64(raw[offset]) }
            }
        }
        return sum
    }

    /// Maps and validates, then sums every 8-byte word of every tensor.
    static func checksum(_ path: String) throws -> UInt64 {
        let archive = try Safetensors.read(path: path)
        var sum: UInt64 = 0
        for (_, tensor) in archive.tensors {
            tensor.bytes.withUnsafeBytes { raw in
                let words = raw.count / 8
                for i in 0..<words { sum &+= raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
            }
        }
        return sum
    }

    /// `read(2)` of the whole file in 8 MB chunks into one reused buffer.
    static func sequentialRead(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafetensorsError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let chunk = 8 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, chunk)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw SafetensorsError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { return }
        }
    }

    /// Keeps the optimiser from dropping the loads whose sum is passed here.
    @inline(never) @_optimize(none)
    static func consume(_ value: UInt64) { _ = value }

    /// Drops the file's clean pages from the page cache (no root needed for `POSIX_FADV_DONTNEED`).
    static func evict(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fdatasync(fd)
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        close(fd)
    }
}
