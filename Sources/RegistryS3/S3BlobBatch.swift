import Foundation
import NIOCore
import Registry

/// A batch of blob writes to S3: `put` hashes, checks with `HEAD` whether the blob is already
/// stored (refreshing its date when it is old, see `blobRefreshAge`), compresses and starts the upload; up to `concurrency` uploads run at once. `commit`
/// waits for every upload and throws the first failure, so it returns only when every blob of
/// the batch is durable in S3 — the point after which catalog rows may name them.
final class S3BlobBatch: BlobBatch {
    private let store: S3BlobStore
    private var seen: Set<String> = []
    private var inFlight: [(key: String, future: EventLoopFuture<S3Client.PutOutcome>)] = []

    init(store: S3BlobStore) { self.store = store }

    func put(_ bytes: UnsafeRawBufferPointer) throws -> BlobPutResult {
        let sha = BlobStore.digest(bytes)
        let client = store.client
        if !seen.contains(sha), let existing = try S3Client.wait(client.headObject(key: store.key(for: sha))) {
            seen.insert(sha)
            if Date().timeIntervalSince(existing.lastModified ?? .distantPast) > client.configuration.refreshAge {
                try S3Client.wait(client.touchObject(key: store.key(for: sha)))  // see `blobRefreshAge`
            }
            return BlobPutResult(sha256: sha, size: bytes.count, storedSize: existing.size, isNew: false)
        }
        let compressed = try BlobStore.compress(bytes, level: store.compressionLevel)
        guard seen.insert(sha).inserted else {
            return BlobPutResult(sha256: sha, size: bytes.count, storedSize: compressed.count, isNew: false)
        }
        // Bound the memory and connections of one batch: wait for the oldest upload first.
        while inFlight.count >= max(1, client.configuration.concurrency) {
            _ = try S3Client.wait(inFlight.removeFirst().future)
        }
        if let future = try store.upload(NIOCore.ByteBuffer(bytes: compressed), sha256: sha) {
            inFlight.append((store.key(for: sha), future))
        }
        return BlobPutResult(sha256: sha, size: bytes.count, storedSize: compressed.count, isNew: true)
    }

    func commit() throws {
        var firstError: (any Error)?
        for upload in inFlight {
            do { _ = try S3Client.wait(upload.future) } catch { firstError = firstError ?? error }
        }
        inFlight.removeAll()
        if let firstError { throw firstError }
    }
}
