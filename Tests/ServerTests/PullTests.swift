import AsyncHTTPClient
import Foundation
import Registry
import RegistryClient
import Testing

@Suite("client: pull")
struct PullTests {
    @Test("a read token pulls a composition, verified; a second pull downloads nothing; the files equal `compose`'s")
    func pullComposition() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = ContentCache(root: scratch.appendingPathComponent("cache"))
        let out = scratch.appendingPathComponent("out")
        let request = PullRequest(server: server.base, references: ["cat", "dog"], compose: true, format: "diffusers", token: token, output: out, cache: cache)
        let first = try await RegistryPuller().pull(request)
        #expect(first.files.count == 3)
        #expect(first.downloadedBytes > 0 && first.cachedBytes == 0)

        let reference = scratch.appendingPathComponent("reference")
        let composed = try server.store.compose(ComposeRequest(references: ["cat", "dog"], format: .diffusers, output: reference))
        #expect(first.compositionID == composed.compositionID)
        #expect(first.tokens == ["cat": "<new1>", "dog": "<new1-dog>"])
        for path in composed.files {
            let name = URL(fileURLWithPath: path).lastPathComponent
            #expect(try Data(contentsOf: out.appendingPathComponent(name)) == (try Data(contentsOf: URL(fileURLWithPath: path))))
        }

        let second = try await RegistryPuller().pull(request)
        #expect(second.downloadedBytes == 0)
        #expect(second.cachedBytes == first.downloadedBytes)
    }

    @Test("an interrupted download resumes with Range; a damaged cache entry is fetched again")
    func resume() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = ContentCache(root: scratch.appendingPathComponent("cache"))
        let manifest = try await http(.GET, server.base + "/v1/concepts/cat/files?format=diffusers", token: token)
        let files = try #require(manifest.json["files"] as? [[String: Any]])
        let big = try #require(files.first { ($0["size"] as? Int ?? 0) > 10_000 })
        let sha = try #require(big["sha256"] as? String), size = try #require(big["size"] as? Int)
        let bytes = try await http(.GET, server.base + "/v1/files/\(sha)", token: token).body
        // A download cut off after 10,000 bytes.
        try FileManager.default.createDirectory(at: cache.partialPath(for: sha).deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.prefix(10_000).write(to: cache.partialPath(for: sha))

        let request = PullRequest(server: server.base, references: ["cat"], format: "diffusers", token: token,
                                  output: scratch.appendingPathComponent("out"), cache: cache)
        let pulled = try await RegistryPuller().pull(request)
        let total = files.compactMap { $0["size"] as? Int }.reduce(0, +)
        #expect(pulled.downloadedBytes == total - 10_000)
        #expect(try Data(contentsOf: cache.path(for: sha)) == bytes)
        #expect(!FileManager.default.fileExists(atPath: cache.partialPath(for: sha).path))
        #expect(size == bytes.count)

        // A cache entry damaged on disk is detected by its hash and downloaded again.
        var damaged = bytes
        damaged[0] ^= 0xFF
        try damaged.write(to: cache.path(for: sha))
        let again = try await RegistryPuller().pull(request)
        #expect(again.downloadedBytes == size)
        #expect(try Data(contentsOf: scratch.appendingPathComponent("out/pytorch_custom_diffusion_weights.safetensors")) == bytes)
    }

    @Test("bytes that do not match the manifest's SHA-256 are refused and not cached")
    func checksum() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let manifest = try await http(.GET, server.base + "/v1/concepts/dog/files?format=lora", token: token)
        let files = try #require(manifest.json["files"] as? [[String: Any]])
        // Tamper with the server's plain copy of one file (same size, one byte changed).
        let sha = try #require(files.first?["sha256"] as? String)
        let copy = server.root.appendingPathComponent("cache/files/\(sha.prefix(2))/\(sha.dropFirst(2))")
        var data = try Data(contentsOf: copy)
        data[data.count - 1] ^= 0x01
        try data.write(to: copy)
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = ContentCache(root: scratch.appendingPathComponent("cache"))
        let request = PullRequest(server: server.base, references: ["dog"], format: "lora", token: token,
                                  output: scratch.appendingPathComponent("out"), cache: cache)
        await #expect(throws: PullError.self) { try await RegistryPuller().pull(request) }
        #expect(!FileManager.default.fileExists(atPath: cache.path(for: sha).path))
    }

    @Test("errors: no token → 401 with a hint; unknown concept → 404; several REFs go to DIR/<name>")
    func errorsAndLayout() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = ContentCache(root: scratch.appendingPathComponent("cache"))
        let out = scratch.appendingPathComponent("out")
        do {
            _ = try await RegistryPuller().pull(PullRequest(server: server.base, references: ["cat"], output: out, cache: cache))
            Issue.record("pull without a token succeeded")
        } catch let error as PullError {
            guard case .http(_, 401, "unauthorized", _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.localizedDescription.contains("CONCEPTS_TOKEN"))
        }
        let token = try server.token(.read)
        await #expect(throws: PullError.self) {
            try await RegistryPuller().pull(PullRequest(server: server.base, references: ["ghost"], token: token, output: out, cache: cache))
        }
        let both = try await RegistryPuller().pull(PullRequest(server: server.base, references: ["cat", "dog@1"], format: "lora", token: token, output: out, cache: cache))
        #expect(Set(both.files.map { URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent }) == ["cat", "dog"])
        await #expect(throws: PullError.self) {
            try await RegistryPuller().pull(PullRequest(server: "ftp://x", references: ["cat"], output: out, cache: cache))
        }
    }

    @Test("`concepts pull` (the CLI) with $CONCEPTS_TOKEN and $XDG_CACHE_HOME")
    func cli() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let env = ["CONCEPTS_TOKEN": token, "XDG_CACHE_HOME": scratch.appendingPathComponent("xdg").path]
        let args = ["pull", server.base, "cat", "dog", "--compose", "--format", "lora", "--out", scratch.appendingPathComponent("out").path, "--json"]
        let first = try runConcepts(args, env: env)
        #expect(first.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect((object["files"] as? [String])?.count == 3)
        #expect((object["downloaded_bytes"] as? Int ?? 0) > 0)
        #expect(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("xdg/concepts/files").path))
        let second = try #require(try JSONSerialization.jsonObject(with: Data(try runConcepts(args, env: env).stdout.utf8)) as? [String: Any])
        #expect(second["downloaded_bytes"] as? Int == 0)
        #expect(second["cached_bytes"] as? Int == object["downloaded_bytes"] as? Int)
        #expect(try runConcepts(["pull", server.base, "cat", "--out", scratch.path], env: ["CONCEPTS_TOKEN": ""]).status == 1)
    }
}
