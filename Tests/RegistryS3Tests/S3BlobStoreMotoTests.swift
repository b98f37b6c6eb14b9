import Foundation
import NIOCore
import Testing
@testable import Registry
@testable import RegistryS3

/// Against a real S3 implementation (moto, signature checking on). Skipped, saying why, when the
/// server's variables are not set: start it with `. "$(scripts/services/moto.sh start)"` first
/// (scripts/test.sh does).
@Suite("S3 blob store against moto", .enabled(if: Moto.available, "needs CONCEPTS_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY: run `. \"$(scripts/services/moto.sh start)\"`"))
struct S3BlobStoreMotoTests {
    @Test("a wrong secret is refused with 403 (moto checks signatures)")
    func wrongSecret() throws {
        let good = try Moto.store()
        var configuration = good.client.configuration
        configuration.credentials = AWSCredentials(accessKeyID: Moto.accessKey, secretAccessKey: Moto.secretKey + "x")
        configuration.maxAttempts = 1
        let bad = try S3BlobStore(bucket: good.bucket, prefix: good.prefix, configuration: configuration)
        do {
            _ = try bad.put(Data("refused".utf8))
            Issue.record("a request signed with the wrong secret was accepted")
        } catch let error as S3Error {
            #expect(error.status == 403, "\(error)")
        }
        // The same request with the right secret works.
        #expect(try good.put(Data("accepted".utf8)).isNew)
    }

    @Test("put, get, exists, list: zstd objects at prefix/aa/<sha256>, deduplicated")
    func roundTrip() throws {
        let store = try Moto.store(prefix: "team/blobs")
        let payload = Data((0..<100_000).map { UInt8($0 % 7) })
        let first = try store.put(payload)
        #expect(first.isNew && first.size == payload.count && first.storedSize < payload.count / 10)
        let again = try store.put(payload)
        #expect(!again.isNew && again.sha256 == first.sha256 && again.storedSize == first.storedSize)
        #expect(try store.get(first.sha256) == payload)
        #expect(try store.exists(first.sha256))
        #expect(try !store.exists(String(repeating: "0", count: 64)))
        let empty = try store.put(Data())
        #expect(try store.get(empty.sha256) == Data())
        let listed = try store.list()
        #expect(listed.map(\.sha256) == [first.sha256, empty.sha256].sorted())
        #expect(listed.first { $0.sha256 == first.sha256 }?.storedSize == first.storedSize)
        #expect(listed.allSatisfy { abs($0.lastModified.timeIntervalSinceNow) < 300 })
        // The object itself: the key layout and a zstd frame (magic 28 B5 2F FD).
        let raw = try #require(try S3Client.wait(store.client.getObject(key: "team/blobs/\(first.sha256.prefix(2))/\(first.sha256)")))
        #expect(raw.readableBytes == first.storedSize)
        #expect(raw.getBytes(at: raw.readerIndex, length: 4) == [0x28, 0xB5, 0x2F, 0xFD])
    }

    @Test("ranged GET returns exactly the bytes asked for (206)")
    func range() throws {
        let store = try Moto.store()
        let body = noise(1000)
        try S3Client.wait(store.client.putObject(key: "r/raw", body: ByteBuffer(bytes: body)))
        let slice = try #require(try S3Client.wait(store.client.getObject(key: "r/raw", range: 10...19)))
        #expect(slice.getBytes(at: slice.readerIndex, length: slice.readableBytes) == Array(body[10...19]))
        #expect(try S3Client.wait(store.client.getObject(key: "r/absent", range: 0...1)) == nil)
    }

    @Test("ListObjectsV2 paging: small pages follow continuation tokens to every key")
    func paging() throws {
        let store = try Moto.store { $0.listPageSize = 2 }
        var hashes: [String] = []
        for i in 0..<7 { hashes.append(try store.put(Data("blob \(i)".utf8)).sha256) }
        let first = try S3Client.wait(store.client.listObjects(prefix: "blobs/", maxKeys: 2))
        #expect(first.objects.count == 2)
        #expect(first.nextContinuationToken != nil)
        // Through the store (pages of 2): every blob exactly once.
        #expect(try store.list().map(\.sha256) == hashes.sorted())
        #expect(try store.client.listAllObjects(prefix: "blobs/", pageSize: 3).count == 7)
        // Objects under the prefix that are not blobs are ignored.
        try S3Client.wait(store.client.putObject(key: "blobs/notes.txt", body: ByteBuffer(string: "x")))
        #expect(try store.list().count == 7)
    }

    @Test("multipart upload with small parts: round trip, size verified, no upload left over")
    func multipart() throws {
        let store = try Moto.store {
            $0.multipartThreshold = 5 << 20
            $0.partSize = 5 << 20
            $0.concurrency = 2
        }
        let payload = noise(12 << 20 + 12345)
        let put = try store.put(payload)
        #expect(put.isNew && put.storedSize > 10 << 20, "noise does not compress: 3 parts of ≤ 5 MiB")
        #expect(try store.get(put.sha256) == payload)
        let info = try #require(try S3Client.wait(store.client.headObject(key: store.key(for: put.sha256))))
        #expect(info.size == put.storedSize)
        // A multipart object's ETag is "<md5 of part md5s>-<number of parts>".
        #expect(info.eTag?.hasSuffix("-3\"") == true, "\(info.eTag ?? "no ETag")")
        #expect(try S3Client.wait(store.client.listMultipartUploads(prefix: "blobs/")).isEmpty)
    }

    @Test("remove deletes and reports the stored size; the blob is then missing")
    func remove() throws {
        let store = try Moto.store()
        let put = try store.put(Data("to be removed".utf8))
        #expect(try store.remove(put.sha256) == put.storedSize)
        #expect(try !store.exists(put.sha256))
        #expect(throws: RegistryError.missingBlob(sha256: put.sha256, path: store.location(of: put.sha256))) { try store.get(put.sha256) }
        #expect(try store.list().isEmpty)
    }

    @Test("If-None-Match: * never overwrites an existing object (412 → alreadyExists)")
    func ifNoneMatch() throws {
        let store = try Moto.store()
        #expect(try S3Client.wait(store.client.putObject(key: "k/one", body: ByteBuffer(string: "original"))) == .created)
        #expect(try S3Client.wait(store.client.putObject(key: "k/one", body: ByteBuffer(string: "replacement"))) == .alreadyExists)
        let body = try #require(try S3Client.wait(store.client.getObject(key: "k/one")))
        #expect(String(buffer: body) == "original")
    }

    @Test("a corrupt object is detected on read")
    func corrupt() throws {
        let store = try Moto.store()
        let good = try store.put(Data("hello".utf8))
        let other = try BlobStore.compress(Data("jello".utf8).withUnsafeBytes { $0 }, level: 3)
        try S3Client.wait(store.client.putObject(key: store.key(for: good.sha256), body: ByteBuffer(bytes: other), ifNoneMatch: false))
        do {
            _ = try store.get(good.sha256)
            Issue.record("corrupt blob accepted")
        } catch let error as RegistryError {
            guard case .corruptBlob(let sha, let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(sha == good.sha256 && reason.contains("hashes to"))
        }
        try S3Client.wait(store.client.putObject(key: store.key(for: good.sha256), body: ByteBuffer(bytes: [1, 2, 3]), ifNoneMatch: false))
        #expect(throws: RegistryError.self) { try store.get(good.sha256) }
    }

    @Test("a batch commits only when every upload is durable; puts inside it deduplicate")
    func batch() throws {
        let store = try Moto.store { $0.concurrency = 2 }
        let batch = store.batch()
        let payloads = (0..<5).map { noise(50_000, seed: UInt64($0 + 1)) }
        let puts = try payloads.map { try batch.put($0) }
        #expect(try !batch.put(payloads[0]).isNew)
        try batch.commit()
        for (payload, put) in zip(payloads, puts) { #expect(try store.get(put.sha256) == payload) }
        #expect(try store.list().count == 5)
    }

    @Test("stale multipart uploads are aborted by removeStaleTemporaries")
    func staleUploads() throws {
        let store = try Moto.store()
        let key = store.key(for: String(repeating: "cd", count: 32))
        _ = try S3Client.wait(store.client.createMultipartUpload(key: key))
        let pending = try S3Client.wait(store.client.listMultipartUploads(prefix: "blobs/"))
        #expect(pending.count == 1 && pending.first?.key == key)
        // moto reports a fixed `Initiated` date (2010-11-10T20:48:33Z), so the age is taken from
        // what the listing says: an upload younger than the limit is kept (it may be a live writer's).
        let age = Date().timeIntervalSince(try #require(pending.first).initiated)
        #expect(try store.removeStaleTemporaries(olderThan: age + 3600) == 0)
        #expect(try S3Client.wait(store.client.listMultipartUploads(prefix: "blobs/")).count == 1)
        #expect(try store.removeStaleTemporaries(olderThan: 0) == 1)
        #expect(try S3Client.wait(store.client.listMultipartUploads(prefix: "blobs/")).isEmpty)
    }

    @Test("a Store on S3 blobs: gc keeps a fresh orphan, removes it past the grace period; verify is clean")
    func storeOnS3() throws {
        let blobs = try Moto.store()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-s3-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try Store(root: root, create: true, blobs: blobs)
        let orphan = try store.blobs.put(Data("orphan".utf8))
        #expect(try store.verify().problems.isEmpty)
        #expect(try store.collectGarbage().blobsRemoved == 0)
        #expect(try blobs.exists(orphan.sha256))
        let report = try store.collectGarbage(gracePeriod: 0)
        #expect(report.blobsRemoved == 1 && report.bytesFreed == orphan.storedSize)
        #expect(try !blobs.exists(orphan.sha256))
    }

    @Test("putting a stored blob again refreshes its LastModified (CopyObject onto itself), bytes unchanged")
    func refresh() throws {
        let store = try Moto.store { $0.refreshAge = 0 }
        let payload = Data("deduplicated against".utf8)
        let put = try store.put(payload)
        let before = try #require(try store.lastModified(put.sha256))
        Thread.sleep(forTimeInterval: 1.2)
        #expect(try !store.put(payload).isNew)
        let after = try #require(try store.lastModified(put.sha256))
        #expect(after.timeIntervalSince(before) >= 1)
        #expect(try store.get(put.sha256) == payload)
        #expect(try store.lastModified(String(repeating: "0", count: 64)) == nil)
    }

    @Test("S3BlobStore(url:environment:) reads the AWS variables")
    func fromURL() throws {
        let configured = try Moto.store()
        let store = try S3BlobStore(url: "s3://\(configured.bucket)/from-url", environment: Moto.awsEnvironment())
        let put = try store.put(Data("via url".utf8))
        #expect(try S3Client.wait(configured.client.headObject(key: "from-url/\(put.sha256.prefix(2))/\(put.sha256)")) != nil)
    }
}
