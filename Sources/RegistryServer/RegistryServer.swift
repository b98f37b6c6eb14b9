import Foundation
import Hummingbird
import Logging
import Mustache
import Registry
import ServiceLifecycle

/// `concepts serve` (issue 11): the store over HTTP, API v1 as specified in `openapi.yaml`.
///
/// Every catalog and blob operation goes through the `Registry` store API (the same calls the CLI
/// makes), on a Dispatch queue so event loops never block on SQLite or the disk. Shutdown is
/// graceful (ServiceLifecycle): on SIGTERM/SIGINT the listener closes, in-flight requests finish,
/// then the process exits; registrations are single catalog transactions, so none is left half-done.
public struct RegistryServer: Sendable {
    public let configuration: ServerConfiguration
    public let store: Store
    public let metrics = ServerMetrics()
    let logger: Logger
    let authorizer: Authorizer
    let singleFlight = SingleFlight()
    let pages: WebPages

    /// Serves the default store at `configuration.storeRoot` (SQLite catalog and blob folder there).
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "concepts.serve")) async throws {
        try await self.init(configuration: configuration, store: try Store(root: configuration.storeRoot, create: true), logger: logger)
    }

    /// Serves an opened store, whatever its backends (several servers may share one PostgreSQL
    /// catalog and S3 bucket: every write is one catalog transaction, every blob content-addressed).
    public init(configuration: ServerConfiguration, store: Store, logger: Logger = Logger(label: "concepts.serve")) async throws {
        self.configuration = configuration
        self.logger = logger
        self.store = store
        authorizer = Authorizer(publicRead: configuration.publicRead)
        pages = try await WebPages()
        Self.removeAbandonedScratch(store: store)
    }

    /// The router with every route of API v1, the page, health and metrics.
    func router() -> Router<RegistryRequestContext> { routeTable().router }

    func routeTable() -> RouteTable {
        let router = Router(context: RegistryRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthenticationMiddleware(store: store, cacheLifetime: configuration.tokenCacheLifetime))
        let table = RouteTable(router: router)
        addServiceRoutes(to: table)
        addConceptRoutes(to: table)
        addFileRoutes(to: table)
        addCompositionRoutes(to: table)
        addUploadRoutes(to: table)
        addCaptionRoutes(to: table)
        addWebRoutes(to: table)
        return table
    }

    /// Every (method, path template) the server answers, as registered.
    public func routes() -> [(method: String, path: String)] { routeTable().routes }

    /// Builds the application; `onRunning` receives the bound port (useful with port 0).
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "concepts"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully: the listener closes, in-flight
    /// requests get up to `shutdownGrace` to finish (a stalled client cannot keep the process alive),
    /// then what is left is cancelled. A registration is one catalog transaction: it either commits
    /// or leaves only scratch files.
    public func run(shutdownGrace: Duration = .seconds(30), onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        var configuration = ServiceGroupConfiguration(services: [application(onRunning: onRunning)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownGrace
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }

    /// Scratch directories (uploads, exports) older than an hour were left by a killed server.
    static func removeAbandonedScratch(store: Store) {
        let directory = store.root.appendingPathComponent("cache/tmp")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names {
            let url = directory.appendingPathComponent(name)
            if let date = try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date,
               Date().timeIntervalSince(date) > 3600 {
                try? FileManager.default.removeItem(at: url)
            }
        }
    }
}

/// Runs one computation per key at a time: concurrent requests for the same export or composition
/// wait for the first instead of repeating it.
actor SingleFlight {
    private var running: [String: Task<any Sendable, any Error>] = [:]

    func run<T: Sendable>(_ key: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        if let task = running[key] {
            guard let value = try await task.value as? T else { throw APIError(.internalServerError, "internal", "single-flight type mismatch") }
            return value
        }
        let task = Task<any Sendable, any Error> { try await work() }
        running[key] = task
        defer { running[key] = nil }
        guard let value = try await task.value as? T else { throw APIError(.internalServerError, "internal", "single-flight type mismatch") }
        return value
    }
}
