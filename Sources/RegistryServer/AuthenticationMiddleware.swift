import Foundation
import Hummingbird
import HummingbirdAuth
import Registry

/// Reads `Authorization: Bearer <token>` (issue 11 §3): a known token sets `context.identity`; an
/// unknown one is refused with 401 at once (even when reads are public). Routes then ask for a
/// scope with `Authorizer.require`.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext
    let store: Store
    let lastUse = LastUse()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if request.headers[.authorization] != nil {
            guard let bearer = request.headers.bearer else { throw APIError.unauthorized("the Authorization header is not a bearer token") }
            let secret = bearer.token
            let store = self.store
            guard let identity = try await blocking({ try store.authenticateToken(secret) }) else {
                throw APIError.unauthorized("unknown or revoked token")
            }
            context.identity = identity
            if lastUse.shouldRecord(identity.name) {
                Task.detached { try? store.touchToken(name: identity.name) }
            }
        }
        return try await next(request, context)
    }

    /// Records a token's last use at most once a minute (no catalog write per request).
    /// `@unchecked Sendable`: the dictionary is only touched under the lock.
    final class LastUse: @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [String: ContinuousClock.Instant] = [:]
        func shouldRecord(_ name: String) -> Bool {
            let now = ContinuousClock.now
            return lock.withLock {
                if let last = recorded[name], now - last < .seconds(60) { return false }
                recorded[name] = now
                return true
            }
        }
    }
}

/// Scope checks of the routes.
struct Authorizer: Sendable {
    let publicRead: Bool

    /// 401 without a token (unless `scope` is read and reads are public), 403 with too small a scope.
    func require(_ scope: TokenScope, _ context: RegistryRequestContext) throws {
        guard let identity = context.identity else {
            if scope == .read && publicRead { return }
            throw APIError.unauthorized("this route needs a bearer token with scope '\(scope.rawValue)'")
        }
        guard identity.scope >= scope else {
            throw APIError.forbidden("token '\(identity.name)' has scope '\(identity.scope.rawValue)'; this route needs '\(scope.rawValue)'")
        }
    }
}
