import Foundation
import Hummingbird

/// Registers routes on the Hummingbird router and remembers each (method, path template), so the
/// OpenAPI test can check that every route the server really has is documented in `openapi.yaml`.
///
/// `@unchecked Sendable`: routes are only added while the router is being built, on one task.
final class RouteTable: @unchecked Sendable {
    typealias Handler = @Sendable (Request, RegistryRequestContext) async throws -> Response
    let router: Router<RegistryRequestContext>
    private(set) var routes: [(method: String, path: String)] = []

    init(router: Router<RegistryRequestContext>) { self.router = router }

    func get(_ path: String, _ handler: @escaping Handler) { add(.get, path, handler) }
    func head(_ path: String, _ handler: @escaping Handler) { add(.head, path, handler) }
    func post(_ path: String, _ handler: @escaping Handler) { add(.post, path, handler) }
    func put(_ path: String, _ handler: @escaping Handler) { add(.put, path, handler) }
    func delete(_ path: String, _ handler: @escaping Handler) { add(.delete, path, handler) }

    private func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        routes.append((method.rawValue, path))
        // The trie needs one parameter name per position: `/v1/concepts/{name}/…` (a bare name, as
        // documented) and `/v1/concepts/{ref}` share the key `ref`.
        router.on(RouterPath(path.replacingOccurrences(of: "/v1/concepts/{name}", with: "/v1/concepts/{ref}")), method: method, use: handler)
    }
}
