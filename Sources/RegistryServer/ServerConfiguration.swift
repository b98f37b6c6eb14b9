import Foundation
import Logging

/// How `concepts serve` runs (CLI.md "Service and remote stores").
public struct ServerConfiguration: Sendable {
    public var storeRoot: URL
    public var host: String
    /// 0 asks the system for a free port (tests); the bound port is reported by `onRunning`.
    public var port: Int
    /// Lets anonymous clients use the read routes.
    public var publicRead: Bool
    /// Uploads larger than this are refused with 413 (default 1 GiB).
    public var maxUpload: Int
    /// How long a token found valid is trusted without a catalog read (a revocation takes effect
    /// within this time); zero checks the catalog on every request.
    public var tokenCacheLifetime: Duration = .seconds(1)

    public static let defaultPort = 8740
    public static let defaultMaxUpload = 1 << 30

    public init(storeRoot: URL, host: String = "127.0.0.1", port: Int = ServerConfiguration.defaultPort,
                publicRead: Bool = false, maxUpload: Int = ServerConfiguration.defaultMaxUpload) {
        self.storeRoot = storeRoot
        self.host = host
        self.port = port
        self.publicRead = publicRead
        self.maxUpload = maxUpload
    }
}
