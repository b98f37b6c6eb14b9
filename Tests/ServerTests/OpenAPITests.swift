import Foundation
import TestSupport
import RegistryServer
import Testing

/// The committed `openapi.yaml` read the simple way it is written: `  /path:` at indent 2,
/// methods at indent 4, response codes (`"200":`) at indent 8.
struct OpenAPIDocument {
    /// "GET /v1/concepts" → documented status codes.
    var operations: [String: Set<Int>] = [:]

    init(_ text: String) {
        var path: String?
        var method: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.isEmpty, !line.hasPrefix(" ") { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
                method = nil
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"),
                      ["get", "put", "post", "delete", "head", "patch"].contains(line.trimmingCharacters(in: .whitespaces).dropLast()) {
                method = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
                if let path, let method { operations["\(method) \(path)"] = [] }
            } else if line.hasPrefix("        \""), !line.hasPrefix("         "), let path, let method,
                      let code = Int(line.trimmingCharacters(in: .whitespaces).dropFirst().prefix(3)) {
                operations["\(method) \(path)", default: []].insert(code)
            }
        }
    }
}

@Suite("server: OpenAPI")
struct OpenAPITests {
    @Test("the committed openapi.yaml is the one served, and documents exactly the routes the server has")
    func everyRouteDocumented() async throws {
        let committed = try String(contentsOf: packageRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        #expect(committed.hasPrefix("openapi: 3.1"))
        let document = OpenAPIDocument(committed)
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let routes = Set(server.server.routes().map { "\($0.method) \($0.path)" })
        #expect(routes.count >= 20)
        #expect(routes.subtracting(document.operations.keys).isEmpty, "routes missing from openapi.yaml: \(routes.subtracting(document.operations.keys))")
        #expect(Set(document.operations.keys).subtracting(routes).isEmpty, "documented but not served: \(Set(document.operations.keys).subtracting(routes))")
        for (operation, codes) in document.operations { #expect(!codes.isEmpty, "\(operation) documents no response") }

        let served = try await http(.GET, server.base + "/openapi.yaml")
        #expect(served.status == 200)
        #expect(served.text == committed)
    }

    @Test("every route answers with a status its operation documents (happy paths and refusals)")
    func statusesDocumented() async throws {
        let document = OpenAPIDocument(try String(contentsOf: packageRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8))
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let read = try server.token(.read), write = try server.token(.write)
        let manifest = try await http(.GET, server.base + "/v1/concepts/cat/files?format=lora", token: read)
        let sha = try #require((manifest.json["files"] as? [[String: Any]])?.first?["sha256"] as? String)
        let composed = try await http(.POST, server.base + "/v1/compositions", token: read, body: json(["concepts": ["cat"], "format": "lora"]))
        let id = try #require(composed.json["composition_id"] as? String)
        let archive = try temporaryDirectory().appendingPathComponent("cat.tar")
        try tarFolder(tinyConcept("cat-diffusers"), to: archive)

        struct Call { let method: String; let route: String; let url: String; var token: String?; var body: Data?; var headers: [(String, String)] = [] }
        let calls: [Call] = [
            Call(method: "GET", route: "/healthz", url: "/healthz"),
            Call(method: "GET", route: "/metrics", url: "/metrics", token: read),
            Call(method: "GET", route: "/metrics", url: "/metrics"),
            Call(method: "GET", route: "/openapi.yaml", url: "/openapi.yaml"),
            Call(method: "GET", route: "/", url: "/?search=cat", token: read),
            Call(method: "GET", route: "/concepts/{ref}", url: "/concepts/cat@1", token: read),
            Call(method: "GET", route: "/concepts/{ref}", url: "/concepts/ghost", token: read),
            Call(method: "GET", route: "/v1/bases", url: "/v1/bases", token: read),
            Call(method: "GET", route: "/v1/concepts", url: "/v1/concepts?category=cat&base=tiny", token: read),
            Call(method: "GET", route: "/v1/concepts/{ref}", url: "/v1/concepts/cat@latest", token: read),
            Call(method: "GET", route: "/v1/concepts/{ref}", url: "/v1/concepts/cat@%01", token: read),
            Call(method: "GET", route: "/v1/concepts/{name}/versions", url: "/v1/concepts/cat/versions", token: read),
            Call(method: "GET", route: "/v1/concepts/{name}/versions", url: "/v1/concepts/ghost/versions", token: read),
            Call(method: "POST", route: "/v1/concepts/{name}/versions", url: "/v1/concepts/cat/versions?base=tiny&category=cat", token: write,
                 body: try Data(contentsOf: archive)),
            Call(method: "POST", route: "/v1/concepts/{name}/versions", url: "/v1/concepts/cat/versions?base=tiny", token: read, body: Data("x".utf8)),
            Call(method: "PUT", route: "/v1/concepts/{name}/aliases/{alias}", url: "/v1/concepts/cat/aliases/best", token: write, body: json(["version": 1])),
            Call(method: "PUT", route: "/v1/concepts/{name}/aliases/{alias}", url: "/v1/concepts/cat/aliases/best", token: write, body: json(["version": 9])),
            Call(method: "DELETE", route: "/v1/concepts/{name}/aliases/{alias}", url: "/v1/concepts/cat/aliases/best", token: write),
            Call(method: "DELETE", route: "/v1/concepts/{name}/aliases/{alias}", url: "/v1/concepts/cat/aliases/best", token: write),
            Call(method: "GET", route: "/v1/concepts/{ref}/files", url: "/v1/concepts/dog/files?format=compvis", token: read),
            Call(method: "GET", route: "/v1/concepts/{ref}/files", url: "/v1/concepts/dog/files?format=zip", token: read),
            Call(method: "GET", route: "/v1/files/{sha256}", url: "/v1/files/\(sha)", token: read, headers: [("Range", "bytes=0-3")]),
            Call(method: "GET", route: "/v1/files/{sha256}", url: "/v1/files/\(sha)", token: read, headers: [("If-None-Match", "\"\(sha)\"")]),
            Call(method: "HEAD", route: "/v1/files/{sha256}", url: "/v1/files/\(sha)", token: read),
            Call(method: "POST", route: "/v1/compositions", url: "/v1/compositions", token: read, body: json(["concepts": ["cat", "dog"]])),
            Call(method: "POST", route: "/v1/compositions", url: "/v1/compositions", token: read, body: json(["concepts": ["cat"], "format": "lora"])),
            Call(method: "GET", route: "/v1/compositions/{id}", url: "/v1/compositions/\(id)?format=lora", token: read),
            Call(method: "GET", route: "/v1/captions/search", url: "/v1/captions/search?q=a%20cat&set=none", token: read),
            Call(method: "GET", route: "/v1/captions/search", url: "/v1/captions/search", token: read),
            Call(method: "GET", route: "/v1/regsets", url: "/v1/regsets", token: read),
            Call(method: "POST", route: "/v1/regsets", url: "/v1/regsets", token: write,
                 body: json(["name": "pets", "base": "tiny", "captions": ["a photo of a cat", "a dog on grass", "a bird"]])),
            Call(method: "POST", route: "/v1/regsets", url: "/v1/regsets", token: write,
                 body: json(["name": "pets", "base": "tiny", "captions": ["a cat"]])),
        ]
        var exercised = Set<String>()
        for call in calls {
            let method = HTTPMethodName(call.method)
            let answer = try await http(method.nio, server.base + call.url, token: call.token, headers: call.headers, body: call.body)
            let operation = "\(call.method) \(call.route)"
            let documented = try #require(document.operations[operation], "\(operation) is not in openapi.yaml")
            #expect(documented.contains(answer.status), "\(call.method) \(call.url) answered \(answer.status), documented: \(documented.sorted())")
            if answer.status >= 400 && call.method != "HEAD" {
                #expect(answer.errorCode != nil, "\(call.method) \(call.url): error body \(answer.text)")
            }
            exercised.insert(operation)
        }
        let routes = Set(server.server.routes().map { "\($0.method) \($0.path)" })
        #expect(routes.subtracting(exercised).isEmpty, "not exercised: \(routes.subtracting(exercised))")
        // The regset created above is listed.
        let regsets = try await http(.GET, server.base + "/v1/regsets", token: read)
        #expect(regsets.text.contains("\"pets\""))
    }
}

import NIOHTTP1
/// Maps a method name to async-http-client's type.
struct HTTPMethodName {
    let nio: HTTPMethod
    init(_ name: String) { nio = HTTPMethod(rawValue: name) }
}
