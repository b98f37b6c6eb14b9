import Foundation
import Hummingbird
import Registry

extension RegistryServer {
    /// `GET|HEAD /v1/files/{sha256}`: the bytes of an exported file by content address, as the
    /// Hugging Face Hub serves files: `ETag: "<sha256>"`, immutable caching, `Range` → 206 (one
    /// range), `If-None-Match` → 304. Read from the plain copy under `cache/files/` in chunks.
    func addFileRoutes(to router: RouteTable) {
        let store = self.store, authorizer = self.authorizer, metrics = self.metrics
        let fileIO = FileIO()

        @Sendable func serve(_ request: Request, _ context: RegistryRequestContext, body: Bool) async throws -> Response {
            try authorizer.require(.read, context)
            let sha = try Validate.sha256(try context.parameters.require("sha256"))
            let located: (URL, Int)? = try await blocking {
                guard let size = try store.servedFileSize(sha256: sha) else { return nil }
                return (try store.servedFilePath(sha256: sha), size)
            }
            guard let (path, size) = located else { throw APIError.notFound("no file with content address \(sha)") }
            var headers: HTTPFields = [
                .eTag: "\"\(sha)\"",
                .cacheControl: "public, max-age=31536000, immutable",
                .acceptRanges: "bytes",
                .contentType: "application/octet-stream",
            ]
            if let tags = request.headers[.ifNoneMatch], Self.matches(ifNoneMatch: tags, sha: sha) {
                return Response(status: .notModified, headers: headers)
            }
            var range = ByteRange(header: request.headers[.range], size: size)
            if case .partial = range, let ifRange = request.headers[.ifRange], ifRange != "\"\(sha)\"" { range = .whole }
            switch range {
            case .unsatisfiable:
                var error = APIError(.rangeNotSatisfiable, "range_not_satisfiable", "the file has \(size) bytes")
                error.headers[.contentRange] = "bytes */\(size)"
                throw error
            case .whole:
                headers[.contentLength] = String(size)
                guard body, size > 0 else { return Response(status: .ok, headers: headers) }
                metrics.recordServed(bytes: size)
                return Response(status: .ok, headers: headers, body: try await fileIO.loadFile(path: path.path, context: context, chunkLength: 1 << 20))
            case .partial(let bytes):
                headers[.contentLength] = String(bytes.count)
                headers[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(size)"
                guard body else { return Response(status: .partialContent, headers: headers) }
                metrics.recordServed(bytes: bytes.count)
                return Response(status: .partialContent, headers: headers,
                                body: try await fileIO.loadFile(path: path.path, range: bytes, context: context, chunkLength: 1 << 20))
            }
        }

        router.get("/v1/files/{sha256}") { request, context in try await serve(request, context, body: true) }
        router.head("/v1/files/{sha256}") { request, context in try await serve(request, context, body: false) }
    }

    /// `If-None-Match: "a", "b"` or `*` (weak tags compare equal too).
    static func matches(ifNoneMatch: String, sha: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { tag in
            let tag = tag.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == "\"\(sha)\"" || tag == "W/\"\(sha)\""
        }
    }
}
