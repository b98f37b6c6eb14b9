import Crypto
import Foundation

/// What a bearer token may do (issue 11 §3): `read` < `write` < `admin`; a scope includes the smaller ones.
public enum TokenScope: String, Codable, Sendable, CaseIterable, Comparable {
    case read, write, admin

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: TokenScope, rhs: TokenScope) -> Bool { lhs.rank < rhs.rank }
}

/// A token as `token list` shows it: never the secret, which the catalog does not keep.
public struct APITokenInfo: Codable, Sendable, Equatable {
    public let name: String
    public let scope: TokenScope
    public let createdAt: String
    public let lastUsedAt: String?
    enum CodingKeys: String, CodingKey {
        case name, scope
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }
}

extension APITokenInfo {
    init(record: APITokenRecord) {
        self.init(name: record.name, scope: TokenScope(rawValue: record.scope) ?? .read, createdAt: record.createdAt, lastUsedAt: record.lastUsedAt)
    }
}

/// The result of `token create`: the only time the secret is shown.
public struct APITokenCreated: Codable, Sendable {
    public let name: String
    public let scope: TokenScope
    public let token: String
}

/// Errors of the token table.
public enum TokenError: Error, LocalizedError, Equatable {
    case exists(String)
    case unknown(String)

    public var errorDescription: String? {
        switch self {
        case .exists(let name): "a token named '\(name)' already exists (revoke it first)"
        case .unknown(let name): "no token named '\(name)' (see `concepts token list`)"
        }
    }
}

extension Store {
    /// Creates a token: 32 random bytes from the system's CSPRNG, hex, prefixed `crt_`; stores only
    /// its SHA-256.
    public func createToken(name: String, scope: TokenScope) throws -> APITokenCreated {
        try ConceptReference.validate(name: name, kind: "token")
        var generator = SystemRandomNumberGenerator()
        let secret = "crt_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let digest = Self.tokenDigest(secret)
        do {
            try catalog.write { connection in
                if try connection.exists("SELECT 1 FROM api_token WHERE name = ?", [name]) { throw TokenError.exists(name) }
                try connection.insert(APITokenRecord(name: name, scope: scope.rawValue, sha256: digest, createdAt: Timestamp.now(), lastUsedAt: nil),
                                      into: "api_token")
            }
        }
        return APITokenCreated(name: name, scope: scope, token: secret)
    }

    /// Every token, by name.
    public func tokens() throws -> [APITokenInfo] {
        try catalog.read { connection in
            try connection.fetchAll(APITokenRecord.self, "SELECT * FROM api_token ORDER BY name").map(APITokenInfo.init(record:))
        }
    }

    /// Deletes a token: requests presenting it are refused from then on.
    public func revokeToken(name: String) throws {
        try catalog.write { connection in
            if try connection.execute("DELETE FROM api_token WHERE name = ?", [name]) == 0 { throw TokenError.unknown(name) }
        }
    }

    /// The token that `secret` is, or nil. The presented secret is hashed and compared with every
    /// stored hash in constant time (no early exit on the first differing byte, no index lookup
    /// whose timing depends on the secret).
    public func authenticateToken(_ secret: String) throws -> APITokenInfo? {
        let presented = Array(Self.tokenDigest(secret).utf8)
        let records = try catalog.read { connection in try connection.fetchAll(APITokenRecord.self, "SELECT * FROM api_token") }
        var found: APITokenInfo?
        for record in records {
            if Self.constantTimeEqual(presented, Array(record.sha256.utf8)) { found = APITokenInfo(record: record) }
        }
        return found
    }

    /// Records that a token was used (the server calls this at most once a minute per token).
    public func touchToken(name: String) throws {
        _ = try catalog.write { connection in
            try connection.execute("UPDATE api_token SET last_used_at = ? WHERE name = ?", [Timestamp.now(), name])
        }
    }

    /// Hex SHA-256 of a token's UTF-8 bytes.
    static func tokenDigest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Equal length and bytes, examined in full whatever the first difference.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
