import Crypto
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
    let cache: TokenCache

    init(store: Store, cacheLifetime: Duration) {
        self.store = store
        cache = TokenCache(lifetime: cacheLifetime)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if request.headers[.authorization] != nil {
            guard let bearer = request.headers.bearer else { throw APIError.unauthorized("the Authorization header is not a bearer token") }
            let secret = bearer.token
            let store = self.store
            let identity: APITokenInfo
            if let cached = cache.identity(for: secret) {
                identity = cached
            } else {
                guard let found = try await blocking({ try store.authenticateToken(secret) }) else {
                    throw APIError.unauthorized("unknown or revoked token")
                }
                cache.remember(found, for: secret)
                identity = found
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

/// Tokens found valid in the last `lifetime` (default 1 s), so that a burst of requests costs one
/// catalog read: a revocation takes effect within `lifetime`. Keyed by the SHA-256 of the secret;
/// only valid tokens are kept, at most 1,000.
/// `@unchecked Sendable`: the dictionary is only touched under the lock.
final class TokenCache: @unchecked Sendable {
    private let lifetime: Duration
    private let lock = NSLock()
    private var entries: [String: (identity: APITokenInfo, until: ContinuousClock.Instant)] = [:]

    init(lifetime: Duration) { self.lifetime = lifetime }

    private static func key(_ secret: String) -> String { SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined() }

    func identity(for secret: String) -> APITokenInfo? {
        guard lifetime > .zero else { return nil }
        let key = Self.key(secret), now = ContinuousClock.now
        return lock.withLock {
            guard let entry = entries[key] else { return nil }
            guard entry.until > now else { entries[key] = nil; return nil }
            return entry.identity
        }
    }

    func remember(_ identity: APITokenInfo, for secret: String) {
        guard lifetime > .zero else { return }
        let key = Self.key(secret), until = ContinuousClock.now + lifetime
        lock.withLock {
            if entries.count >= 1000 { entries.removeAll() }
            entries[key] = (identity, until)
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
