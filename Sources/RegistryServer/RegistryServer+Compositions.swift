import CustomDiffusion
import Foundation
import Hummingbird
import Registry

/// `POST /v1/compositions` body.
struct CompositionRequest: Decodable, Sendable {
    let concepts: [String]
    let regset: String?
    let format: String?
    /// false: solve again even when this composition was made before (`compose --no-cache`).
    let cache: Bool?
}

/// `POST /v1/compositions` and `GET /v1/compositions/{id}` answers: the `compose --json` report,
/// whether it came from the cache, and the manifest of the files in the requested format.
struct CompositionResponse: Encodable, Sendable {
    let compositionID: String
    let cached: Bool
    let format: String
    let files: [Manifest.File]
    let report: ComposeResult
    enum CodingKeys: String, CodingKey {
        case cached, format, files, report
        case compositionID = "composition_id"
    }
}

extension RegistryServer {
    func addCompositionRoutes(to router: RouteTable) {
        let store = self.store, authorizer = self.authorizer, metrics = self.metrics, singleFlight = self.singleFlight

        router.post("/v1/compositions") { request, context -> Response in
            try authorizer.require(.read, context)
            let body = try await JSONResponse.decode(CompositionRequest.self, from: request, context: context)
            guard !body.concepts.isEmpty else { throw APIError.badRequest("concepts must name at least one concept") }
            guard body.concepts.count <= 64 else { throw APIError.badRequest("at most 64 concepts per composition") }
            let references = try body.concepts.map { try Validate.reference($0).description }
            let regset = try body.regset.map { try Validate.name($0, kind: "regularization set") }
            let format = try Self.format(body.format)
            let useCache = body.cache ?? true
            let key = "compose|\(references.joined(separator: ","))|\(regset ?? "")|\(format.rawValue)|\(useCache)"
            let work: @Sendable () async throws -> CompositionResponse = {
                try await blocking { try Self.composition(store: store, references: references, regset: regset, format: format, useCache: useCache) }
            }
            // Uncached requests are each solved (no joining of concurrent identical ones).
            let answer = useCache ? try await singleFlight.run(key, work) : try await work()
            metrics.recordComposition(cached: answer.cached)
            return try JSONResponse.make(answer, status: answer.cached ? .ok : .created)
        }

        router.get("/v1/compositions/{id}") { request, context -> Response in
            try authorizer.require(.read, context)
            let id = try context.parameters.require("id")
            guard id.utf8.count == 32, id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw APIError.badRequest("a composition id is 32 lowercase hex digits")
            }
            let format = try Self.format(request.uri.queryParameters.get("format"))
            let answer: CompositionResponse? = try await blocking {
                guard var report = try store.compositionReport(id: id) else { return nil }
                let files = try store.exportedFiles(owner: Store.exportOwner(compositionID: id), format: format)
                report.files = files?.map(\.path) ?? []
                return CompositionResponse(compositionID: id, cached: true, format: format.rawValue,
                                           files: Manifest(format: format, files: files ?? []).files, report: report)
            }
            guard let answer else { throw APIError.notFound("no composition \(id)") }
            return try JSONResponse.make(answer)
        }
    }

    /// Answers from the catalog when this composition was already made and exported in `format`
    /// (no solve, no export); otherwise composes through `Store.compose` (which reuses a cached
    /// solve) into a scratch folder and records the files.
    static func composition(store: Store, references: [String], regset: String?, format: ExportFormat, useCache: Bool = true) throws -> CompositionResponse {
        let id = try store.compositionID(references: references, regset: regset)
        let owner = Store.exportOwner(compositionID: id)
        if useCache, var report = try store.compositionReport(id: id), let files = try store.exportedFiles(owner: owner, format: format) {
            report.files = files.map(\.path)
            return CompositionResponse(compositionID: id, cached: true, format: format.rawValue, files: Manifest(format: format, files: files).files,
                                       report: report)
        }
        let directory = try store.scratchDirectory("compose")
        defer { try? FileManager.default.removeItem(at: directory) }
        var result = try store.compose(ComposeRequest(references: references, regset: regset, format: format, output: directory, useCache: useCache))
        let files = try store.recordExport(owner: Store.exportOwner(compositionID: result.compositionID), format: format,
                                           directory: directory, files: result.files)
        result.files = files.map(\.path)
        return CompositionResponse(compositionID: result.compositionID, cached: result.cached, format: format.rawValue,
                                   files: Manifest(format: format, files: files).files, report: result)
    }
}
