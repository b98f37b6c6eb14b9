import Foundation
import Hummingbird
import Registry

extension RegistryServer {
    /// `/healthz`, `/metrics`, `/openapi.yaml`.
    func addServiceRoutes(to router: RouteTable) {
        let store = self.store, metrics = self.metrics, authorizer = self.authorizer

        router.get("/healthz") { _, _ -> Response in
            // A catalog read proves the store answers.
            let concepts = try await blocking { try store.conceptCount() }
            struct Health: Encodable { let status: String; let concepts: Int }
            return try JSONResponse.make(Health(status: "ok", concepts: concepts))
        }

        router.get("/metrics") { _, context -> Response in
            try authorizer.require(.read, context)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }

        let specification = Self.openAPIDocument
        router.get("/openapi.yaml") { _, _ -> Response in
            guard let specification else { throw APIError(.internalServerError, "internal", "openapi.yaml is missing from the build") }
            return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: specification)))
        }
    }

    /// The committed OpenAPI 3.1 description of the API (`openapi.yaml`, embedded at build time).
    public static let openAPIDocument: String? = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
