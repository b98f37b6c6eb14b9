import Hummingbird
import Registry

/// The request context of the service: Hummingbird's core storage plus the token the request
/// presented (set by `AuthenticationMiddleware`; nil for anonymous requests).
public struct RegistryRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: APITokenInfo?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
    }

    /// JSON bodies (compositions, regsets, aliases) are small; uploads stream past this limit.
    public var maxUploadSize: Int { 4 * 1024 * 1024 }
}
