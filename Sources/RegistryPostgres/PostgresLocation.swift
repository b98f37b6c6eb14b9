import Foundation

/// A catalog URL, `postgres://user[:password]@host[:port]/database[?parameters]` (libpq's
/// connection URI, PostgreSQL manual §34.1.1, the subset a catalog needs).
///
/// Parameters: `sslmode` (`disable` — the default —, `allow`, `prefer`, `require`, `verify-ca`,
/// `verify-full`), `host` (a directory: connect through its Unix socket `.s.PGSQL.<port>`),
/// `connect_timeout` (seconds, default 10), `application_name` (accepted, ignored). Any other
/// parameter is an error, so that a misspelt one is not silently dropped.
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    /// A directory holding the server's Unix socket (from `?host=/dir`), used instead of TCP.
    public var socketDirectory: String?
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var connectTimeoutSeconds: Int

    /// Parses `url`; anything that is not a usable PostgreSQL URL is `CatalogError.invalidLocation`
    /// (the password is never repeated in the message).
    public init(url: String) throws(PostgresLocationError) {
        guard let components = URLComponents(string: url) else { throw .invalid("not a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw .invalid("the scheme must be postgres:// or postgresql://")
        }
        host = components.host.flatMap { $0.removingPercentEncoding } ?? ""
        port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw .invalid("port \(port) is out of range") }
        guard let user = components.user?.removingPercentEncoding, !user.isEmpty else {
            throw .invalid("no user name (postgres://user@host:port/database)")
        }
        self.user = user
        password = components.password?.removingPercentEncoding
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard let database = path.removingPercentEncoding, !database.isEmpty, !database.contains("/") else {
            throw .invalid("no database name (postgres://user@host:port/database)")
        }
        self.database = database
        tls = .disable
        connectTimeoutSeconds = 10
        socketDirectory = nil
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else { throw .invalid("unknown sslmode '\(value)'") }
                tls = mode
            case "host":
                guard value.hasPrefix("/") else { throw .invalid("the host parameter must be a socket directory (an absolute path)") }
                socketDirectory = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else { throw .invalid("connect_timeout must be a positive number of seconds") }
                connectTimeoutSeconds = seconds
            case "application_name":
                break
            default:
                throw .invalid("unknown parameter '\(item.name)' (known: sslmode, host, connect_timeout, application_name)")
            }
        }
        if host.isEmpty, socketDirectory == nil { throw .invalid("no host (postgres://user@host:port/database)") }
    }

    /// The URL without its password, for messages and `Catalog.location`.
    public var redacted: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = user
        components.host = host.isEmpty ? nil : host
        components.port = port
        components.path = "/" + database
        var items: [URLQueryItem] = []
        if let socketDirectory { items.append(URLQueryItem(name: "host", value: socketDirectory)) }
        if tls != .disable { items.append(URLQueryItem(name: "sslmode", value: tls.rawValue)) }
        if !items.isEmpty { components.queryItems = items }
        return components.string ?? "postgres://\(user)@\(host):\(port)/\(database)"
    }

    /// The Unix socket path when `?host=/dir` was given.
    var socketPath: String? {
        socketDirectory.map { ($0.hasSuffix("/") ? $0 : $0 + "/") + ".s.PGSQL.\(port)" }
    }
}

/// Why a catalog URL was refused (turned into `CatalogError.invalidLocation` by `PostgresCatalog`).
public enum PostgresLocationError: Error, Sendable {
    case invalid(String)
}
