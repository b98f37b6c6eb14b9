import Crypto
import CZstd
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed blobs in a local folder (docs/STORAGE.md §2), the default `BlobStorage`: each blob is
/// named by the SHA-256 of its uncompressed bytes and stored zstd-compressed at `blobs/<aa>/<rest of hex>.zst`.
///
/// Writes go to `blobs/tmp/` first, are fsynced, and are renamed into place (then the directory
/// is fsynced), so a blob that is visible is complete; a catalog row refers to a blob only after
/// `put` returned. Every read decompresses and re-hashes, and refuses bytes whose hash differs.
public struct BlobStore: BlobStorage {
    public let directory: URL
    /// zstd level for new blobs (3 = zstd's default: fast, and fp16/fp32 weights gain little from more).
    public var compressionLevel: Int32 = 3

    public init(directory: URL) { self.directory = directory }

    /// The outcome of storing one blob (the name the registry has always used).
    public typealias PutResult = BlobPutResult
    /// A batch of blob writes on any storage (the name the registry has always used).
    public typealias Batch = any BlobBatch

    /// Hex SHA-256 of `bytes`.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    public func path(for sha256: String) -> URL {
        let hex = sha256
        return directory.appendingPathComponent(String(hex.prefix(2)), isDirectory: true)
            .appendingPathComponent(String(hex.dropFirst(2)) + ".zst")
    }

    public var location: String { directory.path }
    public func location(of sha256: String) -> String { path(for: sha256).path }
    public func localPath(for sha256: String) -> URL? { path(for: sha256) }

    // MARK: Writing many blobs

    /// Stages many blobs and makes them durable together: each is written to `blobs/tmp/`, then one
    /// `syncfs` flushes them all, then each is renamed into place, then a second `syncfs` makes the
    /// renames durable. Same guarantee as `put` (a blob visible under its name is complete, and it
    /// is durable before `commit` returns, so before any catalog row refers to it) at the cost of
    /// two filesystem syncs instead of two `fsync`s per blob.
    public final class FolderBatch: BlobBatch {
        private let store: BlobStore
        private var staged: [(temporary: URL, target: URL)] = []
        private var seen: Set<String> = []

        init(store: BlobStore) { self.store = store }

        deinit {
            for entry in staged { unlink(entry.temporary.path) }
        }

        /// Stages `bytes` (nothing is written when the blob already exists or was staged already).
        public func put(_ bytes: UnsafeRawBufferPointer) throws -> PutResult {
            let sha = BlobStore.digest(bytes)
            let target = store.path(for: sha)
            if let attributes = try? FileManager.default.attributesOfItem(atPath: target.path), let existing = attributes[.size] as? Int {
                if let date = attributes[.modificationDate] as? Date, Date().timeIntervalSince(date) > blobRefreshAge {
                    utimes(target.path, nil)  // now: see `blobRefreshAge`
                }
                return PutResult(sha256: sha, size: bytes.count, storedSize: existing, isNew: false)
            }
            let compressed = try BlobStore.compress(bytes, level: store.compressionLevel)
            guard seen.insert(sha).inserted else { return PutResult(sha256: sha, size: bytes.count, storedSize: compressed.count, isNew: false) }
            let temporary = try DurableFile.writeTemporary(compressed, in: store.directory.appendingPathComponent("tmp", isDirectory: true),
                                                           name: target.lastPathComponent)
            staged.append((temporary, target))
            return PutResult(sha256: sha, size: bytes.count, storedSize: compressed.count, isNew: true)
        }

        /// Flushes, renames into place and flushes again; afterwards every staged blob is durable.
        public func commit() throws {
            guard !staged.isEmpty else { return }
            try DurableFile.syncFilesystem(containing: store.directory)
            for entry in staged {
                try FileManager.default.createDirectory(at: entry.target.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard rename(entry.temporary.path, entry.target.path) == 0 else {
                    throw RegistryError.io(path: entry.target.path, reason: "rename: " + String(cString: strerror(errno)))
                }
            }
            staged.removeAll()
            try DurableFile.syncFilesystem(containing: store.directory)
        }
    }

    /// A new batch of blob writes (see `Batch`).
    public func batch() -> any BlobBatch { FolderBatch(store: self) }

    // MARK: Reading

    /// The blob's uncompressed bytes decompressed straight into a `ByteBuffer` (no intermediate
    /// copy: what tensors are built on), verified against its name.
    public func buffer(_ sha256: String) throws -> ByteBuffer {
        let file = path(for: sha256)
        guard let compressed = FileManager.default.contents(atPath: file.path) else {
            throw RegistryError.missingBlob(sha256: sha256, path: file.path)
        }
        return try compressed.withUnsafeBytes { try Self.decompressVerified($0, sha256: sha256) }
    }

    public func exists(_ sha256: String) throws -> Bool { FileManager.default.fileExists(atPath: path(for: sha256).path) }

    public func lastModified(_ sha256: String) throws -> Date? {
        try? FileManager.default.attributesOfItem(atPath: path(for: sha256).path)[.modificationDate] as? Date
    }

    /// Every stored blob (walks `blobs/??/*.zst`; temporary files are not blobs) with its size and modification time.
    public func list() throws -> [BlobListing] {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory.path) else { return [] }
        var blobs: [BlobListing] = []
        for prefix in try fm.contentsOfDirectory(atPath: directory.path) where prefix.count == 2 {
            let folder = directory.appendingPathComponent(prefix)
            for name in try fm.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".zst") {
                let attributes = try fm.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
                blobs.append(BlobListing(sha256: prefix + name.dropLast(4), storedSize: (attributes[.size] as? Int) ?? 0,
                                         lastModified: (attributes[.modificationDate] as? Date) ?? Date()))
            }
        }
        return blobs.sorted { $0.sha256 < $1.sha256 }
    }

    /// Removes a blob (used by `gc` only, for blobs no row refers to). Returns the bytes freed.
    public func remove(_ sha256: String) throws -> Int {
        let file = path(for: sha256)
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        try FileManager.default.removeItem(at: file)
        return size
    }

    /// Removes temporary files left by writers that were killed, older than `age` seconds.
    public func removeStaleTemporaries(olderThan age: TimeInterval = 3600) throws -> Int {
        let tmp = directory.appendingPathComponent("tmp", isDirectory: true)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: tmp.path) else { return 0 }
        var removed = 0
        for name in names {
            let file = tmp.appendingPathComponent(name)
            if let date = try? FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date,
               Date().timeIntervalSince(date) > age {
                if (try? FileManager.default.removeItem(at: file)) != nil { removed += 1 }
            }
        }
        return removed
    }

    // MARK: zstd (shared by every BlobStorage)

    /// Decompresses one zstd frame (its content size must be in the header, as `compress` writes it)
    /// straight into a `ByteBuffer` and checks that the bytes hash to `sha256`.
    public static func decompressVerified(_ src: UnsafeRawBufferPointer, sha256: String) throws -> ByteBuffer {
        let size = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        guard size < UInt64.max - 1, size < UInt64(Int.max) else {
            throw RegistryError.corruptBlob(sha256: sha256, reason: "not a zstd frame with a known size")
        }
        let buffer = try ByteBuffer(unsafeUninitializedCount: Int(size)) { out in
            let got = ZSTD_decompress(out.baseAddress, Int(size), src.baseAddress, src.count)
            if ZSTD_isError(got) != 0 || got != Int(size) {
                throw RegistryError.corruptBlob(sha256: sha256, reason: "zstd: \(ZSTD_isError(got) != 0 ? String(cString: ZSTD_getErrorName(got)) : "short frame")")
            }
        }
        let actual = buffer.withUnsafeBytes { digest($0) }
        guard actual == sha256 else { throw RegistryError.corruptBlob(sha256: sha256, reason: "content hashes to \(actual)") }
        return buffer
    }

    /// zstd-compresses `bytes` in one frame (content size in the header) at `level`.
    public static func compress(_ bytes: UnsafeRawBufferPointer, level: Int32) throws -> Data {
        let bound = ZSTD_compressBound(bytes.count)
        var out = Data(count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, bound, bytes.baseAddress, bytes.count, level)
        }
        if ZSTD_isError(written) != 0 {
            throw RegistryError.compression(String(cString: ZSTD_getErrorName(written)))
        }
        out.count = written
        return out
    }
}
