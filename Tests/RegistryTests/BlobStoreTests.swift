import Foundation
import Testing
@testable import Registry

@Suite("Content-addressed blob store")
struct BlobStoreTests {
    @Test("SHA-256 names match the FIPS 180-2 test vector")
    func digestOfABC() {
        let digest = Data("abc".utf8).withUnsafeBytes { BlobStore.digest($0) }
        #expect(digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("put then get round-trips, stores zstd, and deduplicates", arguments: TestBackend.available)
    func roundTrip(backend: TestBackend) throws {
        let t = try TestStore(backend: backend)
        let payload = Data((0..<100_000).map { UInt8($0 % 7) })
        let first = try t.store.blobs.put(payload)
        #expect(first.isNew)
        #expect(first.size == payload.count)
        #expect(first.storedSize < payload.count / 10, "repetitive bytes must compress")
        let again = try t.store.blobs.put(payload)
        #expect(!again.isNew)
        #expect(again.sha256 == first.sha256)
        #expect(try t.store.blobs.get(first.sha256) == payload)
        #expect(try t.store.blobs.allHashes() == [first.sha256])
        // The file on disk is a zstd frame (magic 28 B5 2F FD), not the raw bytes (S3: RegistryS3Tests checks the object).
        if t.backend.hasLocalBlobs {
            let onDisk = try Data(contentsOf: #require(t.store.blobs.localPath(for: first.sha256)))
            #expect(Array(onDisk.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
        }
    }

    @Test("empty blobs are fine", arguments: TestBackend.available)
    func emptyBlob(backend: TestBackend) throws {
        let t = try TestStore(backend: backend)
        let put = try t.store.blobs.put(Data())
        #expect(put.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(try t.store.blobs.get(put.sha256) == Data())
    }

    @Test("a blob whose bytes changed on disk is refused", arguments: TestBackend.withLocalBlobs)
    func corruptBlob(backend: TestBackend) throws {
        let t = try TestStore(backend: backend)
        let good = try t.store.blobs.put(Data("hello".utf8))
        let other = try BlobStore.compress(Data("jello".utf8).withUnsafeBytes { UnsafeRawBufferPointer($0) }, level: 3)
        try other.write(to: #require(t.store.blobs.localPath(for: good.sha256)))
        #expect(throws: RegistryError.self) { try t.store.blobs.get(good.sha256) }
        do {
            _ = try t.store.blobs.get(good.sha256)
        } catch let error as RegistryError {
            guard case .corruptBlob(let sha, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(sha == good.sha256)
        }
        // Garbage that is not a zstd frame at all.
        try Data([1, 2, 3]).write(to: #require(t.store.blobs.localPath(for: good.sha256)))
        #expect(throws: RegistryError.self) { try t.store.blobs.get(good.sha256) }
    }

    @Test("a missing blob names its hash", arguments: TestBackend.available)
    func missingBlob(backend: TestBackend) throws {
        let t = try TestStore(backend: backend)
        let sha = String(repeating: "ab", count: 32)
        #expect(throws: RegistryError.missingBlob(sha256: sha, path: t.store.blobs.location(of: sha))) { try t.store.blobs.get(sha) }
    }
}

@Suite("Concept references")
struct ConceptReferenceTests {
    @Test("NAME, NAME@N, NAME@ALIAS and NAME@latest parse")
    func parses() throws {
        #expect(try ConceptReference(parsing: "cat") == ConceptReference(name: "cat", selector: .latest))
        #expect(try ConceptReference(parsing: "cat@3") == ConceptReference(name: "cat", selector: .version(3)))
        #expect(try ConceptReference(parsing: "cat@prod") == ConceptReference(name: "cat", selector: .alias("prod")))
        #expect(try ConceptReference(parsing: "cat@latest") == ConceptReference(name: "cat", selector: .latest))
        #expect(try ConceptReference(parsing: "my cat@2").description == "my cat@2")
    }

    @Test("malformed references are refused", arguments: ["", "@1", "cat@", "cat@0", "cat@-1", "cat@a@b"])
    func refuses(_ text: String) {
        #expect(throws: RegistryError.self) { try ConceptReference(parsing: text) }
    }

    @Test("full-text queries quote words and match prefixes")
    func ftsQuery() {
        #expect(Store.fullTextQuery("red dog", dialect: .sqlite) == "\"red\"* \"dog\"*")
        #expect(Store.fullTextQuery("<new1>", dialect: .sqlite) == "\"new1\"*")
        #expect(Store.fullTextQuery("  ", dialect: .sqlite) == "\"\"")
    }
}

@Suite("Store location and schema")
struct StoreLocationTests {
    @Test("default store follows CONCEPTS_STORE, then XDG_DATA_HOME, then HOME")
    func defaultRoot() {
        #expect(Store.defaultRoot(environment: ["CONCEPTS_STORE": "/s", "XDG_DATA_HOME": "/x", "HOME": "/h"]).path == "/s")
        #expect(Store.defaultRoot(environment: ["XDG_DATA_HOME": "/x", "HOME": "/h"]).path == "/x/concepts")
        #expect(Store.defaultRoot(environment: ["HOME": "/h"]).path == "/h/.local/share/concepts")
    }

    @Test("opening applies every migration once, with WAL and foreign keys")
    func migrations() throws {
        let t = try TestStore()
        let (journal, foreignKeys, tables) = try t.store.catalog.read { c in
            (try c.fetchValue("PRAGMA journal_mode", as: String.self), try c.fetchValue("PRAGMA foreign_keys", as: Int.self),
             try c.fetchColumn("SELECT name FROM sqlite_master WHERE type = 'table'", as: String.self))
        }
        #expect(journal == "wal")
        #expect(foreignKeys == 1)
        #expect(tables.contains("concept_version") && tables.contains("blob") && tables.contains("base_layer"))
        // Re-opening the same store is a no-op for migrations.
        _ = try Store(root: t.root, create: false)
    }

    @Test("a store that does not exist is not created when asked not to")
    func noCreate() {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString)")
        #expect(throws: RegistryError.self) { try Store(root: root, create: false) }
        #expect(!FileManager.default.fileExists(atPath: root.path))
    }
}
