import Foundation
import NIOCore
import Registry
import Tensors

/// Content-addressed blobs in S3-compatible object storage (issue 12 item 4): `BlobStorage` over
/// `S3Client`. Object `<prefix>/<sha256[0..2]>/<sha256>` holds the blob zstd-compressed, exactly
/// the bytes the local store keeps in `blobs/<aa>/<rest>.zst` (same compression, `BlobStore.compress`).
///
/// Guarantees (the `BlobStorage` contract, across machines):
/// - **Complete and durable before it is referenced.** A `put` (or a batch's `commit`) returns only
///   after S3 answered 200 to the `PUT` (S3 stores an object whole and durably before it answers,
///   never a partial one) or to `CompleteMultipartUpload` followed by a `HEAD` that confirms the
///   size. The payload's SHA-256 is signed (`x-amz-content-sha256`) and S3 refuses a body that does
///   not match it, so what is stored is what was sent. The registry writes catalog rows only after
///   that, so no row ever names a missing or partial object.
/// - **Never rewritten.** `HEAD` first (an existing blob is not sent again), then `PUT` with
///   `If-None-Match: *`: a 412 (another writer stored it meanwhile) counts as success.
/// - **Verified on every read.** `GET`, decompress, re-hash: bytes that do not hash to the name are refused.
public struct S3BlobStore: BlobStorage {
    public let client: S3Client
    public let bucket: String
    /// The key prefix without leading or trailing `/` (may be empty).
    public let prefix: String
    /// zstd level for new blobs (the local store's default).
    public var compressionLevel: Int32 = 3

    /// `url` is `s3://bucket[/prefix]`; credentials, region and endpoint come from `environment`
    /// (see `S3Configuration.init(bucket:environment:)`).
    public init(url: String, environment: [String: String]) throws {
        let (bucket, prefix) = try Self.parse(url)
        try self.init(bucket: bucket, prefix: prefix, configuration: S3Configuration(bucket: bucket, environment: environment))
    }

    public init(bucket: String, prefix: String, configuration: S3Configuration) throws {
        self.bucket = bucket
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        client = S3Client(configuration: configuration)
    }

    /// Splits `s3://bucket[/prefix]`.
    public static func parse(_ url: String) throws -> (bucket: String, prefix: String) {
        guard url.hasPrefix("s3://") else { throw S3Error.invalidURL(url, reason: "not an s3:// URL") }
        let rest = url.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        let bucketCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(bucket.count), bucket.unicodeScalars.allSatisfy(bucketCharacters.contains) else {
            throw S3Error.invalidURL(url, reason: "bucket names are 3–63 characters of a–z, 0–9, '.' and '-'")
        }
        let prefix = rest.dropFirst(bucket.count).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !prefix.contains("//"), !prefix.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw S3Error.invalidURL(url, reason: "the prefix has empty, '.' or '..' segments")
        }
        return (bucket, prefix)
    }

    /// Keys of blobs start with this (`prefix/`, or nothing).
    var keyPrefix: String { prefix.isEmpty ? "" : prefix + "/" }

    public func key(for sha256: String) -> String { keyPrefix + sha256.prefix(2) + "/" + sha256 }

    public var location: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/\(prefix)") }
    public func location(of sha256: String) -> String { "s3://\(bucket)/\(key(for: sha256))" }
    public func localPath(for sha256: String) -> URL? { nil }

    // MARK: Writing

    public func batch() -> any BlobBatch { S3BlobBatch(store: self) }

    /// Uploads one compressed blob: a single `PUT` (`If-None-Match: *`) up to the multipart
    /// threshold, else a multipart upload whose result is checked with `HEAD`. Returns the future
    /// of a single `PUT` (to wait for in `commit`), or nil when the upload already finished.
    func upload(_ compressed: NIOCore.ByteBuffer, sha256: String) throws -> EventLoopFuture<S3Client.PutOutcome>? {
        let key = key(for: sha256)
        guard compressed.readableBytes > client.configuration.multipartThreshold else {
            return client.putObject(key: key, body: compressed, ifNoneMatch: true)
        }
        try client.putObjectMultipart(key: key, body: compressed)
        guard let info = try S3Client.wait(client.headObject(key: key)) else {
            throw S3Error.verificationFailed(key: key, reason: "HEAD after CompleteMultipartUpload found no object")
        }
        guard info.size == compressed.readableBytes else {
            throw S3Error.verificationFailed(key: key, reason: "stored \(info.size) bytes, uploaded \(compressed.readableBytes)")
        }
        return nil
    }

    // MARK: Reading

    public func buffer(_ sha256: String) throws -> Tensors.ByteBuffer {
        guard let compressed = try S3Client.wait(client.getObject(key: key(for: sha256))) else {
            throw RegistryError.missingBlob(sha256: sha256, path: location(of: sha256))
        }
        return try compressed.withUnsafeReadableBytes { try BlobStore.decompressVerified($0, sha256: sha256) }
    }

    public func exists(_ sha256: String) throws -> Bool {
        try S3Client.wait(client.headObject(key: key(for: sha256))) != nil
    }

    public func lastModified(_ sha256: String) throws -> Date? {
        guard let info = try S3Client.wait(client.headObject(key: key(for: sha256))) else { return nil }
        return info.lastModified ?? .distantFuture  // no date: never old enough for gc
    }

    /// Every blob under the prefix (ListObjectsV2, paged); other objects under the prefix are ignored.
    public func list() throws -> [BlobListing] {
        try client.listAllObjects(prefix: keyPrefix).compactMap { object -> BlobListing? in
            guard let sha = blobName(ofKey: object.key) else { return nil }
            return BlobListing(sha256: sha, storedSize: object.size, lastModified: object.lastModified)
        }.sorted { $0.sha256 < $1.sha256 }
    }

    /// The hash a blob key names (`prefix/ab/ab…` with 64 lower-case hex digits), or nil.
    func blobName(ofKey key: String) -> String? {
        guard key.hasPrefix(keyPrefix) else { return nil }
        let parts = key.dropFirst(keyPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 64, parts[1].hasPrefix(parts[0]), parts[0].count == 2,
              parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return String(parts[1])
    }

    public func remove(_ sha256: String) throws -> Int {
        let key = key(for: sha256)
        let size = try S3Client.wait(client.headObject(key: key))?.size ?? 0
        try S3Client.wait(client.deleteObject(key: key))
        return size
    }

    /// Aborts multipart uploads under the prefix started more than `age` seconds ago (what a
    /// writer killed mid-upload leaves; S3 bills their parts until they are aborted).
    public func removeStaleTemporaries(olderThan age: TimeInterval) throws -> Int {
        let cutoff = Date().addingTimeInterval(-age)
        var removed = 0
        for upload in try S3Client.wait(client.listMultipartUploads(prefix: keyPrefix)) where upload.initiated <= cutoff {
            try S3Client.wait(client.abortMultipartUpload(key: upload.key, uploadID: upload.uploadID))
            removed += 1
        }
        return removed
    }
}
