import CustomDiffusion
import Foundation
import Registry
import Testing

@Suite("server: manifests and files")
struct FilesTests {
    @Test("a manifest lists exactly the files `export` writes, each served byte-identical under its SHA-256", arguments: ExportFormat.allCases)
    func manifestMatchesExport(format: ExportFormat) async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let answer = try await http(.GET, server.base + "/v1/concepts/cat@1/files?format=\(format.rawValue)", token: token)
        #expect(answer.status == 200)
        #expect(answer.json["name"] as? String == "cat" && answer.json["version"] as? Int == 1 && answer.json["format"] as? String == format.rawValue)
        let files = try #require(answer.json["files"] as? [[String: Any]])

        let reference = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: reference) }
        let exported = try server.store.export(ConceptReference(parsing: "cat@1"), format: format, to: reference).files
        #expect(Set(files.compactMap { $0["path"] as? String }) == Set(exported.map { URL(fileURLWithPath: $0).lastPathComponent }))
        for file in files {
            let path = try #require(file["path"] as? String), sha = try #require(file["sha256"] as? String), url = try #require(file["url"] as? String)
            let expected = try Data(contentsOf: reference.appendingPathComponent(path))
            #expect(sha == sha256(expected))
            #expect(file["size"] as? Int == expected.count)
            #expect(url == "/v1/files/\(sha)")
            let served = try await http(.GET, server.base + url, token: token)
            #expect(served.status == 200)
            #expect(served.body == expected)
        }
    }

    @Test("exports are made once and kept as blobs: a second manifest request reads the catalog only")
    func madeOnce() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let first = try await http(.GET, server.base + "/v1/concepts/dog/files?format=lora", token: token)
        let rows = try catalogStrings(server.store, "SELECT created_at FROM export_file")
        let second = try await http(.GET, server.base + "/v1/concepts/dog/files?format=lora", token: token)
        #expect(first.body == second.body)
        let again = try catalogStrings(server.store, "SELECT created_at FROM export_file")
        #expect(rows.count == 2 && again.count == 2)
        #expect(rows == again)
        // The blobs are referenced (gc keeps them) and verify is clean.
        #expect(try server.store.collectGarbage().blobsRemoved == 0)
        #expect(try server.store.verify().problems.isEmpty)
        // The plain copies can go: the server makes them again from the blobs.
        try FileManager.default.removeItem(at: server.root.appendingPathComponent("cache/files"))
        let files = try #require(first.json["files"] as? [[String: Any]])
        let url = try #require(files.first?["url"] as? String)
        #expect(try await http(.GET, server.base + url, token: token).status == 200)
    }

    @Test("ETag, immutable caching, Range → 206, If-None-Match → 304, a range past the end → 416, HEAD")
    func httpSemantics() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.read)
        let manifest = try await http(.GET, server.base + "/v1/concepts/cat/files?format=diffusers", token: token)
        let file = try #require((manifest.json["files"] as? [[String: Any]])?.first { ($0["path"] as? String)?.hasPrefix("pytorch") == true })
        let sha = try #require(file["sha256"] as? String), size = try #require(file["size"] as? Int)
        let url = server.base + "/v1/files/\(sha)"
        let whole = try await http(.GET, url, token: token)
        #expect(whole.headers["ETag"].first == "\"\(sha)\"")
        #expect(whole.headers["Cache-Control"].first?.contains("immutable") == true)
        #expect(whole.headers["Accept-Ranges"].first == "bytes")
        #expect(whole.body.count == size)

        let part = try await http(.GET, url, token: token, headers: [("Range", "bytes=100-1123")])
        #expect(part.status == 206)
        #expect(part.body == whole.body[100...1123])
        #expect(part.headers["Content-Range"].first == "bytes 100-1123/\(size)")
        let tail = try await http(.GET, url, token: token, headers: [("Range", "bytes=-10")])
        #expect(tail.status == 206 && tail.body == whole.body.suffix(10))
        let open = try await http(.GET, url, token: token, headers: [("Range", "bytes=\(size - 5)-")])
        #expect(open.status == 206 && open.body == whole.body.suffix(5))
        let stale = try await http(.GET, url, token: token, headers: [("Range", "bytes=0-9"), ("If-Range", "\"other\"")])
        #expect(stale.status == 200 && stale.body.count == size)

        let notModified = try await http(.GET, url, token: token, headers: [("If-None-Match", "\"\(sha)\"")])
        #expect(notModified.status == 304 && notModified.body.isEmpty)
        #expect(try await http(.GET, url, token: token, headers: [("If-None-Match", "\"\(String(repeating: "0", count: 64))\"")]).status == 200)
        let outside = try await http(.GET, url, token: token, headers: [("Range", "bytes=\(size)-")])
        #expect(outside.status == 416)
        #expect(outside.headers["Content-Range"].first == "bytes */\(size)")

        let head = try await http(.HEAD, url, token: token)
        #expect(head.status == 200 && head.body.isEmpty && head.headers["Content-Length"].first == String(size))

        // Metrics: bytes served (the whole file 3× — plain, If-Range fallback, other ETag — and 1024 + 10 + 5 ranged),
        // per-route counts and latency histograms.
        let metrics = try await http(.GET, server.base + "/metrics", token: token).text
        #expect(metrics.contains("concepts_served_bytes_total \(3 * size + 1024 + 10 + 5)"))
        #expect(metrics.contains("concepts_http_requests_total{method=\"GET\",route=\"/v1/files/{sha256}\",status=\"206\"} 3"))
        #expect(metrics.contains("concepts_http_requests_total{method=\"GET\",route=\"/v1/files/{sha256}\",status=\"304\"} 1"))
        #expect(metrics.contains("concepts_http_requests_total{method=\"GET\",route=\"/v1/concepts/{ref}/files\",status=\"200\"} 1"))
        #expect(metrics.contains("concepts_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/files/{sha256}\"} 8"))
        #expect(metrics.contains("concepts_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/files/{sha256}\",le=\"+Inf\"} 8"))

        #expect(try await http(.GET, server.base + "/v1/files/\(String(repeating: "a", count: 64))", token: token).status == 404)
        #expect(try await http(.GET, server.base + "/v1/files/..%2F..%2Fcatalog.sqlite", token: token).status == 400)
        // Blobs that are not exported files (base weights, deltas) are not served.
        let baseBlob = try catalogStrings(server.store, "SELECT blob FROM base_tensor LIMIT 1").first
        #expect(try await http(.GET, server.base + "/v1/files/\(try #require(baseBlob))", token: token).status == 404)
    }
}

