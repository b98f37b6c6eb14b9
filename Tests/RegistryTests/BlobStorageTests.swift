import Foundation
import Testing
@testable import Registry

/// On the local folder (it ages blob files; the S3 counterparts are in RegistryS3Tests).
@Suite("Blob storage seam and gc grace period")
struct BlobStorageTests {
    /// Sets a local blob's modification time `age` seconds into the past.
    private func age(_ sha256: String, in store: Store, by age: TimeInterval) throws {
        let path = try #require(store.blobs.localPath(for: sha256))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: path.path)
    }

    @Test("gc keeps a fresh unreferenced blob and removes one older than the grace period")
    func gracePeriod() throws {
        let t = try TestStore()
        let fresh = try t.store.blobs.put(Data("written by a host that has not committed yet".utf8))
        let old = try t.store.blobs.put(Data("left by a writer killed two hours ago".utf8))
        try age(old.sha256, in: t.store, by: 2 * 3600)
        let report = try t.store.collectGarbage()
        #expect(report.blobsRemoved == 1)
        #expect(report.bytesFreed == old.storedSize)
        #expect(try t.store.blobs.allHashes() == [fresh.sha256])
        #expect(try t.store.blobs.exists(fresh.sha256))
        #expect(try !t.store.blobs.exists(old.sha256))
        // An explicit grace period shorter than the fresh blob's age removes it too.
        try age(fresh.sha256, in: t.store, by: 120)
        #expect(try t.store.collectGarbage(gracePeriod: 60).blobsRemoved == 1)
        #expect(try t.store.blobs.allHashes().isEmpty)
    }

    @Test("putting a blob that is already stored refreshes an old date, so gc spares it")
    func refresh() throws {
        let t = try TestStore()
        let payload = Data("an old orphan a writer deduplicates against".utf8)
        let put = try t.store.blobs.put(payload)
        try age(put.sha256, in: t.store, by: 2 * 3600)
        let old = try #require(try t.store.blobs.lastModified(put.sha256))
        #expect(Date().timeIntervalSince(old) > 7000)
        #expect(try !t.store.blobs.put(payload).isNew)
        let refreshed = try #require(try t.store.blobs.lastModified(put.sha256))
        #expect(abs(refreshed.timeIntervalSinceNow) < 60)
        #expect(try t.store.collectGarbage().blobsRemoved == 0)
        // A recent date is left alone (no write per deduplicated put).
        try age(put.sha256, in: t.store, by: 60)
        _ = try t.store.blobs.put(payload)
        #expect(Date().timeIntervalSince(try #require(try t.store.blobs.lastModified(put.sha256))) > 50)
        #expect(try t.store.blobs.lastModified(String(repeating: "0", count: 64)) == nil)
    }

    @Test("list reports each blob's stored size and modification date")
    func listing() throws {
        let t = try TestStore()
        let a = try t.store.blobs.put(Data(repeating: 7, count: 10_000))
        let b = try t.store.blobs.put(Data("b".utf8))
        try age(b.sha256, in: t.store, by: 86_400)
        let listed = try t.store.blobs.list()
        #expect(listed.map(\.sha256) == [a.sha256, b.sha256].sorted())
        let byName = Dictionary(uniqueKeysWithValues: listed.map { ($0.sha256, $0) })
        #expect(byName[a.sha256]?.storedSize == a.storedSize)
        #expect(byName[b.sha256]?.storedSize == b.storedSize)
        let now = Date()
        #expect(abs(try #require(byName[a.sha256]).lastModified.timeIntervalSince(now)) < 60)
        #expect(abs(try #require(byName[b.sha256]).lastModified.timeIntervalSince(now) + 86_400) < 60)
    }

    @Test("a store opened with a given BlobStorage uses it")
    func injectedStorage() throws {
        let t = try TestStore()
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let store = try Store(root: t.root, create: false, blobs: BlobStore(directory: elsewhere))
        let put = try store.blobs.put(Data("here".utf8))
        #expect(store.blobs.location == elsewhere.path)
        #expect(FileManager.default.fileExists(atPath: BlobStore(directory: elsewhere).path(for: put.sha256).path))
        #expect(try !t.store.blobs.exists(put.sha256))
    }
}
