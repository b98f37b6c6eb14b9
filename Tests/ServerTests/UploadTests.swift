import AsyncHTTPClient
import Foundation
import Registry
import Testing

@Suite("server: uploads")
struct UploadTests {
    /// What `register` stored, without the fields that differ between two registrations (time, source path).
    static func fingerprint(_ details: VersionDetails) -> [String] {
        [details.base, details.kind, details.compression.policy, "\(details.storedBytes)", "\(details.compression.maxRelativeError)"]
            + details.tokens.map { "\($0.token):\($0.category)" } + details.tags
            + details.layers.map { "\($0.name):\($0.rank):\($0.relativeError)" } + details.source.map { "\($0.sha256)" }
    }

    @Test("a tar of a diffusers output registers exactly as `concepts register` of the folder does")
    func tarUpload() async throws {
        let server = try await TestServer.start(concepts: false)
        defer { Task { await server.stop() } }
        let token = try server.token(.write)
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let archive = scratch.appendingPathComponent("cat.tar")
        try tarFolder(tinyConcept("cat-diffusers"), to: archive)
        let url = server.base + "/v1/concepts/kitty/versions?base=tiny&category=cat&tag=stable&description=uploaded&compress=error:0.05"
        let answer = try await http(.POST, url, token: token, headers: [("Content-Type", "application/x-tar")], body: try Data(contentsOf: archive))
        #expect(answer.status == 201)
        #expect(answer.json["name"] as? String == "kitty" && answer.json["version"] as? Int == 1)

        // The CLI path, in another store with the same base.
        let other = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        let reference = try makeStore(at: other, concepts: false)
        _ = try reference.register(RegisterRequest(name: "kitty", base: "tiny", path: tinyConcept("cat-diffusers"), categories: ["cat"],
                                                          compression: .init(parsing: "error:0.05"), description: "uploaded", tags: ["stable"]))
        let uploaded = try server.store.details(ConceptReference(parsing: "kitty"))
        let registered = try reference.details(ConceptReference(parsing: "kitty"))
        #expect(Self.fingerprint(uploaded) == Self.fingerprint(registered))
        #expect(uploaded.description == "uploaded" && uploaded.tags == ["stable"])
        // Same blobs: the stored deltas are byte-identical.
        #expect(try server.store.deltas(versionID: try server.store.resolve(ConceptReference(parsing: "kitty")).versionID).count
                == (try reference.deltas(versionID: try reference.resolve(ConceptReference(parsing: "kitty")).versionID).count))

        // A second upload adds version 2; nothing is left in the scratch area.
        let again = try await http(.POST, url.replacingOccurrences(of: "&tag=stable", with: ""), token: token, body: try Data(contentsOf: archive))
        #expect(again.status == 201 && again.json["version"] as? Int == 2)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: server.root.appendingPathComponent("cache/tmp").path)) ?? []).isEmpty)
    }

    @Test("single-file uploads: a CompVis delta.ckpt (with token names) and an adobe delta.bin")
    func singleFiles() async throws {
        let server = try await TestServer.start(concepts: false)
        defer { Task { await server.stop() } }
        let token = try server.token(.write)
        let ckpt = try await http(.POST, server.base + "/v1/concepts/cv/versions?base=tiny&category=cat&token=%3Cnew1%3E&filename=delta.ckpt",
                                  token: token, body: try Data(contentsOf: tinyConcept("cat-compvis.ckpt")))
        #expect(ckpt.status == 201)
        #expect((ckpt.json["tokens"] as? [[String: Any]])?.first?["token"] as? String == "<new1>")
        let adobe = try await http(.POST, server.base + "/v1/concepts/ad/versions?base=tiny&category=cat", token: token,
                                   body: try Data(contentsOf: tinyConcept("cat-adobe.bin")))
        #expect(adobe.status == 201)
    }

    @Test("refusals: 413 past --max-upload, 422 for content register refuses or unsafe archives, 400 for bad options, 403 for read tokens")
    func refusals() async throws {
        let server = try await TestServer.start(maxUpload: 32_000, concepts: false)
        defer { Task { await server.stop() } }
        let token = try server.token(.write)
        let base = server.base + "/v1/concepts/x/versions?base=tiny&category=cat"
        let big = try await http(.POST, base, token: token, body: try Data(contentsOf: tinyConcept("cat-adobe.bin")))
        #expect(big.status == 413 && big.errorCode == "too_large")

        // A body without Content-Length (chunked) is cut off at the limit while it streams.
        var chunked = HTTPClientRequest(url: base)
        chunked.method = .POST
        chunked.headers.add(name: "Authorization", value: "Bearer \(token)")
        chunked.body = .stream(SlowBody(data: Data(repeating: 1, count: 100_000), chunks: 10, pause: .milliseconds(1)), length: .unknown)
        let streamed = try? await HTTPClient.shared.execute(chunked, timeout: .seconds(60))
        #expect(streamed.map { $0.status.code == 413 } ?? true, "chunked upload past the limit: \(streamed.map { "\($0.status)" } ?? "connection closed")")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: server.root.appendingPathComponent("cache/tmp").path)) ?? []).isEmpty)

        let garbage = try await http(.POST, base + "&filename=delta.bin", token: token, body: Data(repeating: 7, count: 4096))
        #expect(garbage.status == 422 && garbage.errorCode == "invalid_content")
        let traversal = try await http(.POST, base, token: token, body: ustar(name: "../../evil.safetensors", contents: Data("x".utf8)))
        #expect(traversal.status == 422)
        #expect(traversal.text.contains("leaves the folder"))
        let link = try await http(.POST, base, token: token, body: ustar(name: "a", contents: Data(), type: UInt8(ascii: "2")))
        #expect(link.status == 422)
        #expect(try await http(.POST, base, token: token, body: Data()).status == 422)
        #expect(try await http(.POST, server.base + "/v1/concepts/x/versions?category=cat", token: token, body: Data("x".utf8)).status == 400)
        #expect(try await http(.POST, base + "&kind=weird", token: token, body: Data("x".utf8)).status == 400)
        #expect(try await http(.POST, base + "&filename=..%2Fx.bin", token: token, body: Data("x".utf8)).status == 400)
        #expect(try await http(.POST, server.base + "/v1/concepts/x/versions?base=ghost", token: token, body: try Data(contentsOf: tinyConcept("cat-adobe-compressed.bin"))).status == 404)
        #expect(try await http(.POST, base, token: try server.token(.read), body: Data("x".utf8)).status == 403)

        // A NaN delta (the CLI's validation) is refused with its reason.
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        try tarFolder(tinyConcept("bad/nan-diffusers"), to: scratch.appendingPathComponent("nan.tar"))
        let nan = try await http(.POST, base, token: token, body: try Data(contentsOf: scratch.appendingPathComponent("nan.tar")))
        #expect(nan.status == 422)
        #expect(try server.store.listConcepts().isEmpty)
        #expect(try server.store.verify().problems.isEmpty)
    }
}
