import Foundation
import Registry
import Testing

@Suite("server: HTML page")
struct WebPageTests {
    @Test("the index lists and searches concepts; a concept page shows tokens, versions, aliases, layers; text is escaped")
    func pages() async throws {
        let server = try await TestServer.start(publicRead: true)
        defer { Task { await server.stop() } }
        _ = try server.store.register(RegisterRequest(name: "cat", base: "tiny", path: tinyConcept("cat-diffusers"), categories: ["cat"],
                                                          description: "<script>alert(1)</script> tabby", tags: ["prod"]))
        let index = try await http(.GET, server.base + "/")
        #expect(index.status == 200)
        #expect(index.headers["Content-Type"].first?.hasPrefix("text/html") == true)
        #expect(index.text.contains("href=\"/concepts/cat\"") && index.text.contains("href=\"/concepts/dog\""))
        #expect(index.text.contains("tiny"))
        #expect(!index.text.contains("<script"))
        let search = try await http(.GET, server.base + "/?search=dog")
        #expect(search.text.contains("/concepts/dog") && !search.text.contains("/concepts/cat\""))

        let page = try await http(.GET, server.base + "/concepts/cat")
        #expect(page.status == 200)
        #expect(page.text.contains("cat@2"))
        #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt; tabby"))
        #expect(!page.text.contains("<script>"))
        #expect(page.text.contains("&lt;new1&gt;"))
        #expect(page.text.contains("<span class=\"tag\">prod</span>"))
        let details = try server.store.details(ConceptReference(parsing: "cat"))
        #expect(page.text.contains("Layers (\(details.layers.count))"))
        for layer in details.layers.prefix(3) {
            #expect(page.text.contains("<code>\(layer.name)</code></td><td class=\"num\">\(layer.rank)</td>"))
        }
        #expect(page.text.contains("href=\"/concepts/cat@1\""))
        #expect(try await http(.GET, server.base + "/concepts/ghost").status == 404)
    }
}
