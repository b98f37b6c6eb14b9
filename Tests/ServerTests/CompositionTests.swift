import CustomDiffusion
import Foundation
import Registry
import Testing

@Suite("server: compositions")
struct CompositionTests {
    @Test("POST composes as `compose` does (same id, report and bytes); the second POST is a cache hit; GET returns it")
    func composeAndCache() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let body = json(["concepts": ["cat", "dog"], "format": "lora"])
        let first = try await http(.POST, server.base + "/v1/compositions", token: token, body: body)
        #expect(first.status == 201)
        #expect(first.json["cached"] as? Bool == false)
        let id = try #require(first.json["composition_id"] as? String)
        let report = try #require(first.json["report"] as? [String: Any])
        #expect(report["tokens"] as? [String: String] == ["cat": "<new1>", "dog": "<new1-dog>"])
        let files = try #require(first.json["files"] as? [[String: Any]])

        // The CLI's compose in the same store: same id, byte-identical files.
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let cli = try server.store.compose(ComposeRequest(references: ["cat", "dog"], format: .lora, output: out))
        #expect(cli.compositionID == id)
        #expect(cli.targets == report["targets"] as? Int)
        #expect(Set(files.compactMap { $0["path"] as? String }) == Set(cli.files.map { URL(fileURLWithPath: $0).lastPathComponent }))
        for file in files {
            let path = try #require(file["path"] as? String)
            #expect(file["sha256"] as? String == sha256(try Data(contentsOf: out.appendingPathComponent(path))))
        }

        let second = try await http(.POST, server.base + "/v1/compositions", token: token, body: body)
        #expect(second.status == 200)
        #expect(second.json["cached"] as? Bool == true)
        #expect(second.json["composition_id"] as? String == id)
        #expect(((second.json["report"] as? [String: Any])?["files"] as? [String]).map(Set.init) == Set(files.compactMap { $0["path"] as? String }))
        #expect((second.json["files"] as? [[String: Any]])?.compactMap { $0["sha256"] as? String } == files.compactMap { $0["sha256"] as? String })

        let again = try await http(.POST, server.base + "/v1/compositions", token: token, body: json(["concepts": ["cat", "dog"], "format": "lora", "cache": false]))
        #expect(again.status == 201 && again.json["cached"] as? Bool == false && again.json["composition_id"] as? String == id)
        #expect((again.json["files"] as? [[String: Any]])?.compactMap { $0["sha256"] as? String } == files.compactMap { $0["sha256"] as? String })

        let fetched = try await http(.GET, server.base + "/v1/compositions/\(id)?format=lora", token: token)
        #expect(fetched.status == 200)
        #expect((fetched.json["files"] as? [[String: Any]])?.count == files.count)
        #expect(try await http(.GET, server.base + "/v1/compositions/\(String(repeating: "0", count: 32))", token: token).status == 404)
        #expect(try await http(.GET, server.base + "/v1/compositions/xyz", token: token).status == 400)

        let metrics = try await http(.GET, server.base + "/metrics", token: token).text
        #expect(metrics.contains("concepts_composition_cache_total{result=\"miss\"} 2"))
        #expect(metrics.contains("concepts_composition_cache_total{result=\"hit\"} 1"))
    }

    @Test("bad composition requests: malformed JSON 400, unknown concept 404, one listed twice 422, bad format 400")
    func refusals() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let url = server.base + "/v1/compositions"
        let malformed = try await http(.POST, url, token: token, body: Data("{\"concepts\": [".utf8))
        #expect(malformed.status == 400 && malformed.errorCode == "bad_request")
        #expect(try await http(.POST, url, token: token, body: json(["concepts": "cat"])).status == 400)
        #expect(try await http(.POST, url, token: token, body: json(["concepts": []])).status == 400)
        #expect(try await http(.POST, url, token: token, body: json(["concepts": ["ghost"]])).status == 404)
        #expect(try await http(.POST, url, token: token, body: json(["concepts": ["cat", "cat"]])).status == 422)
        #expect(try await http(.POST, url, token: token, body: json(["concepts": ["cat"], "format": "gguf"])).status == 400)
        #expect(try await http(.POST, url, token: token, body: json(["concepts": ["cat"], "regset": "nope"])).status == 404)
    }
}
