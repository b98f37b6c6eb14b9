import CustomDiffusion
import Foundation
import Hummingbird
import Registry

/// A manifest (issue 11 §2): the files of one export, each with its content address and URL.
struct Manifest: Codable, Sendable {
    struct File: Codable, Sendable {
        let path: String
        let size: Int
        let sha256: String
        let url: String
    }
    let format: String
    let files: [File]

    init(format: ExportFormat, files: [StoredFile]) {
        self.format = format.rawValue
        self.files = files.map { File(path: $0.path, size: $0.size, sha256: $0.sha256, url: "/v1/files/\($0.sha256)") }
    }
}

extension RegistryServer {
    func addConceptRoutes(to router: RouteTable) {
        let store = self.store, authorizer = self.authorizer

        router.get("/v1/bases") { _, context -> Response in
            try authorizer.require(.read, context)
            struct Bases: Encodable { let bases: [BaseInfo] }
            return try JSONResponse.make(Bases(bases: try await blocking { try store.bases() }))
        }

        router.get("/v1/concepts") { request, context -> Response in
            try authorizer.require(.read, context)
            let query = request.uri.queryParameters
            func optional(_ key: String) throws -> String? {
                guard let value = query.get(key), !value.isEmpty else { return nil }
                guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                    throw APIError.badRequest("\(key) contains control characters")
                }
                return value
            }
            let filter = ConceptFilter(base: try optional("base"), category: try optional("category"), tag: try optional("tag"), search: try optional("search"))
            struct Concepts: Encodable { let concepts: [ConceptSummary] }
            return try JSONResponse.make(Concepts(concepts: try await blocking { try store.listConcepts(filter) }))
        }

        router.get("/v1/concepts/{ref}") { _, context -> Response in
            try authorizer.require(.read, context)
            let reference = try Validate.reference(try context.parameters.require("ref"))
            return try JSONResponse.make(try await blocking { try store.details(reference) })
        }

        router.get("/v1/concepts/{name}/versions") { _, context -> Response in
            try authorizer.require(.read, context)
            let name = try Validate.name(try context.parameters.require("ref"))
            struct Versions: Encodable { let name: String; let versions: [VersionSummary] }
            return try JSONResponse.make(Versions(name: name, versions: try await blocking { try store.versions(of: name) }))
        }

        router.put("/v1/concepts/{name}/aliases/{alias}") { request, context -> Response in
            try authorizer.require(.write, context)
            let name = try Validate.name(try context.parameters.require("ref"))
            let alias = try Validate.name(try context.parameters.require("alias"), kind: "alias")
            struct Body: Decodable { let version: Int }
            let body = try await JSONResponse.decode(Body.self, from: request, context: context)
            guard body.version >= 1 else { throw APIError.badRequest("version must be ≥ 1") }
            guard alias != "latest" else { throw APIError.badRequest("'latest' is implicit and cannot be set") }
            return try JSONResponse.make(try await blocking { try store.tag(ConceptReference(name: name, selector: .version(body.version)), alias: alias) })
        }

        router.delete("/v1/concepts/{name}/aliases/{alias}") { _, context -> Response in
            try authorizer.require(.write, context)
            let name = try Validate.name(try context.parameters.require("ref"))
            let alias = try Validate.name(try context.parameters.require("alias"), kind: "alias")
            return try JSONResponse.make(try await blocking { try store.untag(name: name, alias: alias) })
        }

        router.get("/v1/concepts/{ref}/files") { request, context -> Response in
            try authorizer.require(.read, context)
            let reference = try Validate.reference(try context.parameters.require("ref"))
            let format = try Self.format(request.uri.queryParameters.get("format"))
            let key = "export|\(reference)|\(format.rawValue)"
            let (resolved, files) = try await singleFlight.run(key) { try await blocking { try store.versionExport(reference, format: format) } }
            struct Body: Encodable {
                let name: String
                let version: Int
                let base: String
                let manifest: Manifest
                func encode(to encoder: Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(name, forKey: .name)
                    try container.encode(version, forKey: .version)
                    try container.encode(base, forKey: .base)
                    try container.encode(manifest.format, forKey: .format)
                    try container.encode(manifest.files, forKey: .files)
                }
                enum CodingKeys: String, CodingKey { case name, version, base, format, files }
            }
            return try JSONResponse.make(Body(name: resolved.name, version: resolved.version, base: resolved.baseName,
                                              manifest: Manifest(format: format, files: files)))
        }
    }

    /// `format` of a query or body: diffusers (default), lora, compvis or adobe.
    static func format(_ raw: String?) throws -> ExportFormat {
        guard let raw, !raw.isEmpty else { return .diffusers }
        guard let format = ExportFormat(rawValue: raw) else {
            throw APIError.badRequest("format must be one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }
}
