import CustomDiffusion
import Foundation
import Hummingbird
import Mustache
import Registry

/// The read-only HTML view (issue 11 §5): server-rendered mustache templates (bundled resources),
/// no JavaScript. `/` lists and searches concepts and bases; `/concepts/{ref}` shows a version
/// with its tokens, tags, compression, per-layer ranks and errors, sizes and every version.
struct WebPages: Sendable {
    let library: MustacheLibrary

    init() async throws {
        var library = MustacheLibrary()
        for (name, bytes) in [("head", PackageResources.head_mustache), ("foot", PackageResources.foot_mustache),
                              ("index", PackageResources.index_mustache), ("concept", PackageResources.concept_mustache)] {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        self.library = library
    }

    func render(_ context: [String: Any], template: String) throws -> Response {
        guard let html = library.render(context, withTemplate: template) else {
            throw APIError(.internalServerError, "internal", "template \(template) is missing")
        }
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(n), unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? text
    }
}

extension RegistryServer {
    func addWebRoutes(to router: RouteTable) {
        let store = self.store, authorizer = self.authorizer, pages = self.pages

        router.get("/") { request, context -> Response in
            try authorizer.require(.read, context)
            let search = request.uri.queryParameters.get("search").flatMap { $0.isEmpty ? nil : $0 }
            let (concepts, bases) = try await blocking { (try store.listConcepts(ConceptFilter(search: search)), try store.bases()) }
            let rows: [[String: Any]] = concepts.map { concept in
                ["name": concept.name, "link": WebPages.pathComponent(concept.name), "latest": concept.latestVersion, "base": concept.base,
                 "tokens": concept.tokens.map { ["token": $0.token, "category": $0.category] }, "tags": concept.tags]
            }
            let baseRows: [[String: Any]] = bases.map {
                ["name": $0.name, "architecture": $0.architecture, "format": $0.sourceFormat, "tensors": $0.tensors,
                 "size": WebPages.bytes($0.bytesTotal), "concepts": $0.concepts]
            }
            var page: [String: Any] = ["title": "Concepts", "concepts": rows, "hasConcepts": !rows.isEmpty, "bases": baseRows]
            if let search { page["search"] = search }
            return try pages.render(page, template: "index")
        }

        router.get("/concepts/{ref}") { _, context -> Response in
            try authorizer.require(.read, context)
            let reference = try Validate.reference(try context.parameters.require("ref"))
            let (details, versions) = try await blocking { (try store.details(reference), try store.versions(of: reference.name)) }
            let maxError = max(details.layers.map(\.relativeError).max() ?? 0, 1e-12)
            let page: [String: Any] = [
                "title": "\(details.name)@\(details.version)", "name": details.name, "version": details.version, "base": details.base,
                "kind": details.kind, "description": details.description, "created": details.createdAt, "sourceFormat": details.sourceFormat,
                "tokens": details.tokens.map { ["token": $0.token, "category": $0.category] }, "tags": details.tags,
                "policy": details.compression.policy, "maxError": String(format: "%.3e", details.compression.maxRelativeError),
                "stored": WebPages.bytes(details.storedBytes),
                "link": WebPages.pathComponent("\(details.name)@\(details.version)"),
                "formats": ExportFormat.allCases.map(\.rawValue),
                "versions": versions.reversed().map { version -> [String: Any] in
                    ["version": version.version, "created": version.createdAt, "aliases": version.aliases, "stored": WebPages.bytes(version.storedBytes),
                     "nameLink": WebPages.pathComponent(details.name), "current": version.version == details.version]
                },
                "layerCount": details.layers.count,
                "layers": details.layers.map { layer -> [String: Any] in
                    ["name": layer.name, "rank": layer.rank, "error": String(format: "%.2e", layer.relativeError),
                     "bar": Int((layer.relativeError / maxError * 120).rounded())]
                },
            ]
            return try pages.render(page, template: "concept")
        }
    }
}
