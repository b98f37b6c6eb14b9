import Foundation
import Registry
import Testing

@Suite("server: tokens and scopes")
struct AuthTests {
    @Test("401 without or with an unknown token, 403 with too small a scope, 200 with enough")
    func scopes() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let read = try server.token(.read), write = try server.token(.write), admin = try server.token(.admin)

        let anonymous = try await http(.GET, server.base + "/v1/concepts")
        #expect(anonymous.status == 401)
        #expect(anonymous.errorCode == "unauthorized")
        #expect(anonymous.headers["WWW-Authenticate"].first?.hasPrefix("Bearer") == true)
        #expect(try await http(.GET, server.base + "/v1/concepts", token: "crt_" + String(repeating: "0", count: 64)).status == 401)
        #expect(try await http(.GET, server.base + "/v1/concepts", headers: [("Authorization", "Basic dXNlcjpwYXNz")]).status == 401)

        for token in [read, write, admin] {
            let listed = try await http(.GET, server.base + "/v1/concepts", token: token)
            #expect(listed.status == 200)
            #expect((listed.json["concepts"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["cat", "dog"])
        }
        let alias = json(["version": 1])
        let forbidden = try await http(.PUT, server.base + "/v1/concepts/cat/aliases/prod", token: read, body: alias)
        #expect(forbidden.status == 403)
        #expect(forbidden.errorCode == "forbidden")
        let tagged = try await http(.PUT, server.base + "/v1/concepts/cat/aliases/prod", token: write, body: alias)
        #expect(tagged.status == 200)
        #expect(tagged.json["alias"] as? String == "prod")
        #expect(try server.store.versions(of: "cat").first?.aliases == ["latest", "prod"])
    }

    @Test("--public-read opens reads to anonymous clients, not writes; a bad token is still refused")
    func publicRead() async throws {
        let server = try await TestServer.start(publicRead: true)
        defer { Task { await server.stop() } }
        #expect(try await http(.GET, server.base + "/v1/concepts/cat").status == 200)
        #expect(try await http(.GET, server.base + "/").status == 200)
        #expect(try await http(.PUT, server.base + "/v1/concepts/cat/aliases/x", body: json(["version": 1])).status == 401)
        #expect(try await http(.GET, server.base + "/v1/concepts", token: "crt_nope").status == 401)
    }

    @Test("only the SHA-256 of a token is stored; revoked tokens are refused; last use is recorded")
    func storage() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let created = try server.store.createToken(name: "worker", scope: .read)
        #expect(created.token.hasPrefix("crt_") && created.token.count == 68)
        let stored = try catalogStrings(server.store, "SELECT sha256 FROM api_token")
        #expect(stored == [sha256(Data(created.token.utf8))])
        let everything = try Data(contentsOf: server.root.appendingPathComponent("catalog.sqlite"))
        #expect(everything.range(of: Data(created.token.utf8)) == nil)
        #expect(throws: TokenError.exists("worker")) { try server.store.createToken(name: "worker", scope: .admin) }

        #expect(try await http(.GET, server.base + "/v1/bases", token: created.token).status == 200)
        var lastUsed: String?
        for _ in 0..<50 where lastUsed == nil {  // recorded off the request path
            try await Task.sleep(for: .milliseconds(100))
            lastUsed = try server.store.tokens().first?.lastUsedAt
        }
        #expect(lastUsed != nil)
        try server.store.revokeToken(name: "worker")
        // Valid tokens are trusted for up to a second without a catalog read.
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await http(.GET, server.base + "/v1/bases", token: created.token).status == 401)
        #expect(throws: TokenError.unknown("worker")) { try server.store.revokeToken(name: "worker") }
    }

    @Test("constant-time comparison compares whole arrays")
    func constantTime() {
        #expect(Store.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!Store.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!Store.constantTimeEqual(Array("xbc".utf8), Array("abc".utf8)))
        #expect(!Store.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
    }

    @Test("token create / list / revoke through the CLI")
    func cli() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let created = try runConcepts(["--store", root.path, "token", "create", "ci", "--scope", "write", "--json"])
        #expect(created.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any]
        #expect(object?["name"] as? String == "ci")
        #expect(object?["scope"] as? String == "write")
        #expect((object?["token"] as? String)?.hasPrefix("crt_") == true)
        let listed = try runConcepts(["--store", root.path, "token", "list", "--json"])
        #expect(listed.stdout.contains("\"name\":\"ci\"") && !listed.stdout.contains("crt_"))
        #expect(try runConcepts(["--store", root.path, "token", "create", "bad", "--scope", "root"]).status == 64)
        let revoked = try runConcepts(["--store", root.path, "token", "revoke", "ci", "--json"])
        #expect(revoked.stdout.contains("\"revoked\":true"))
        #expect(try runConcepts(["--store", root.path, "token", "revoke", "ci"]).status == 1)
    }
}
