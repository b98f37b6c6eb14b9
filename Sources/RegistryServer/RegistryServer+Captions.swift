import Foundation
import Hummingbird
import Registry

/// `POST /v1/regsets` body: either `captions` (listed, like `--from-file`) or `queries` (retrieved
/// from caption set `set`, like `--query`).
struct RegsetRequest: Decodable, Sendable {
    let name: String
    let base: String
    let captions: [String]?
    let queries: [String]?
    let set: String?
    let threshold: Float?
    let limit: Int?
}

extension RegistryServer {
    func addCaptionRoutes(to router: RouteTable) {
        let store = self.store, authorizer = self.authorizer

        router.get("/v1/captions/search") { request, context -> Response in
            try authorizer.require(.read, context)
            let query = request.uri.queryParameters
            guard let text = query.get("q"), !text.isEmpty else { throw APIError.badRequest("the query parameter 'q' is required") }
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw APIError.badRequest("q contains control characters") }
            let set = try query.get("set").map { try Validate.name($0, kind: "caption set") }
            let threshold = try Self.number(query.get("threshold"), "threshold", Float.self) ?? Store.defaultCaptionThreshold
            let limit = try Self.number(query.get("limit"), "limit", Int.self) ?? Store.defaultCaptionLimit
            guard (-1...1).contains(threshold) else { throw APIError.badRequest("threshold must be in [-1, 1]") }
            guard (1...10_000).contains(limit) else { throw APIError.badRequest("limit must be in 1…10000") }
            return try JSONResponse.make(try await blocking { try store.searchCaptions(text: text, set: set, threshold: threshold, limit: limit) })
        }

        router.get("/v1/regsets") { _, context -> Response in
            try authorizer.require(.read, context)
            struct Regsets: Encodable { let regsets: [RegsetInfo] }
            return try JSONResponse.make(Regsets(regsets: try await blocking { try store.regsets() }))
        }

        router.post("/v1/regsets") { request, context -> Response in
            try authorizer.require(.write, context)
            let body = try await JSONResponse.decode(RegsetRequest.self, from: request, context: context)
            let name = try Validate.name(body.name, kind: "regularization set")
            let base = try Validate.name(body.base, kind: "base")
            let result: RegsetCreateResult
            switch (body.captions, body.queries) {
            case (let captions?, nil):
                guard !captions.isEmpty, captions.count <= 100_000 else { throw APIError.unprocessable("captions must list 1…100000 captions") }
                guard !captions.contains(where: { $0.isEmpty || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) else {
                    throw APIError.unprocessable("captions must be non-empty single lines")
                }
                result = try await blocking {
                    let directory = try store.scratchDirectory("regset")
                    defer { try? FileManager.default.removeItem(at: directory) }
                    let file = directory.appendingPathComponent("captions.txt")
                    try Data((captions.joined(separator: "\n") + "\n").utf8).write(to: file)
                    return try store.createRegset(name: name, base: base, fromFile: file.path)
                }
            case (nil, let queries?):
                let set = try body.set.map { try Validate.name($0, kind: "caption set") }
                result = try await blocking {
                    try store.createRegset(name: name, base: base, queries: queries, set: set,
                                           threshold: body.threshold ?? Store.defaultCaptionThreshold, limit: body.limit ?? Store.defaultCaptionLimit)
                }
            default:
                throw APIError.badRequest("give either 'captions' or 'queries'")
            }
            return try JSONResponse.make(result, status: .created)
        }
    }

    static func number<T: LosslessStringConvertible>(_ raw: String?, _ name: String, _ type: T.Type) throws -> T? {
        guard let raw, !raw.isEmpty else { return nil }
        guard let value = T(raw) else { throw APIError.badRequest("\(name) is not a number: '\(raw.prefix(40))'") }
        return value
    }
}
