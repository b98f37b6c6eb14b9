import Foundation
import Tensors

/// The outcome of storing one blob.
public struct BlobPutResult: Sendable, Equatable {
    /// Hex SHA-256 of the uncompressed bytes: the blob's name.
    public let sha256: String
    /// Uncompressed size in bytes.
    public let size: Int
    /// Size as stored (zstd-compressed).
    public let storedSize: Int
    /// False when an identical blob was already stored (nothing was written).
    public let isNew: Bool

    public init(sha256: String, size: Int, storedSize: Int, isNew: Bool) {
        self.sha256 = sha256
        self.size = size
        self.storedSize = storedSize
        self.isNew = isNew
    }
}

/// One stored blob as `BlobStorage.list()` reports it.
public struct BlobListing: Sendable, Equatable {
    public let sha256: String
    /// Size as stored (compressed).
    public let storedSize: Int
    /// When the blob was stored (file modification time, S3 `LastModified`). `gc` keeps unreferenced
    /// blobs younger than its grace period: a writer on another host may be between upload and commit.
    public let lastModified: Date

    public init(sha256: String, storedSize: Int, lastModified: Date) {
        self.sha256 = sha256
        self.storedSize = storedSize
        self.lastModified = lastModified
    }
}

/// Blob writes made durable together: `put` stages (or starts) a write, `commit` returns only when
/// every staged blob is complete and durable. A catalog row may refer to a blob only after the
/// `commit` of the batch that wrote it returned (issue 12 item 5). Not thread-safe: one writer.
public protocol BlobBatch: AnyObject {
    /// Stages `bytes` (nothing is written when the blob already exists or was staged already).
    func put(_ bytes: UnsafeRawBufferPointer) throws -> BlobPutResult
    /// Returns when every staged blob is durable; throws if any write failed.
    func commit() throws
}

extension BlobBatch {
    public func put(_ data: Data) throws -> BlobPutResult { try data.withUnsafeBytes { try put($0) } }
}

/// The store's content-addressed blobs (DESIGN.md §3): each blob is named by the SHA-256 of its
/// uncompressed bytes and stored zstd-compressed. `BlobStore` (a local folder, the default) and
/// `S3BlobStore` (module RegistryS3, S3-compatible object storage) implement it.
///
/// Guarantees every implementation keeps:
/// - a blob visible under its name is complete (no partial objects), and `put`/`Batch.commit`
///   return only once it is durable;
/// - an existing blob is never rewritten (content-addressed);
/// - every read decompresses and re-hashes, and refuses bytes whose hash differs from the name;
/// - a `put` that finds its blob already stored refreshes the blob's date when it is older than
///   `blobRefreshAge`: `gc` spares unreferenced blobs younger than its grace period, and this
///   extends that protection to a writer (on another host) that deduplicated against an old,
///   still unreferenced blob and is about to commit rows naming it.
///
/// Calls are synchronous (the registry's API is); an implementation over an asynchronous client
/// must not block one of its own event-loop threads.
public protocol BlobStorage: Sendable {
    /// Where the blobs live, for messages: a folder path or `s3://bucket/prefix`.
    var location: String { get }
    /// Where one blob lives (whether or not it exists), for messages.
    func location(of sha256: String) -> String
    /// The local file holding the blob's compressed bytes, when the storage is a local folder
    /// (the fast path: tests and tools may read it directly); nil for remote storage.
    func localPath(for sha256: String) -> URL?

    /// Stores `bytes` unless a blob with the same hash exists; durable when this returns.
    @discardableResult
    func put(_ bytes: UnsafeRawBufferPointer) throws -> BlobPutResult
    /// A new batch of blob writes (see `BlobBatch`).
    func batch() -> any BlobBatch

    /// The blob's uncompressed bytes, verified against its name.
    func get(_ sha256: String) throws -> Data
    /// The blob's uncompressed bytes in a `ByteBuffer` (what tensors are built on), verified against its name.
    func buffer(_ sha256: String) throws -> ByteBuffer
    /// Whether the blob is stored (a metadata request; the bytes are not read or verified).
    func exists(_ sha256: String) throws -> Bool
    /// When the blob was stored or last refreshed; nil when it is not stored.
    func lastModified(_ sha256: String) throws -> Date?

    /// Every stored blob with its stored size and date (temporaries and unfinished uploads are not blobs).
    func list() throws -> [BlobListing]
    /// Removes a blob (used by `gc` only, for blobs no row refers to). Returns the bytes freed.
    func remove(_ sha256: String) throws -> Int
    /// Removes leftovers of writers that were killed (temporary files, unfinished multipart
    /// uploads) older than `age` seconds. Returns how many were removed.
    func removeStaleTemporaries(olderThan age: TimeInterval) throws -> Int
}

/// A `put` that finds its blob stored with a date older than this refreshes the date (see `BlobStorage`).
/// Much shorter than `Store.defaultGCGracePeriod`, so a blob a writer just deduplicated against is young for gc.
public let blobRefreshAge: TimeInterval = 600

extension BlobStorage {
    @discardableResult
    public func put(_ bytes: UnsafeRawBufferPointer) throws -> BlobPutResult {
        let batch = batch()
        let result = try batch.put(bytes)
        try batch.commit()
        return result
    }

    @discardableResult
    public func put(_ data: Data) throws -> BlobPutResult { try data.withUnsafeBytes { try put($0) } }

    public func get(_ sha256: String) throws -> Data { try buffer(sha256).data }

    /// Every stored blob hash, sorted.
    public func allHashes() throws -> [String] { try list().map(\.sha256).sorted() }
}
