import Foundation
import Hummingbird
import Prometheus

/// The service's Prometheus metrics (issue 11 §2, `GET /metrics`), in its own registry (not the
/// process-wide swift-metrics bootstrap, so several servers can run in one test process):
/// - `concepts_http_requests_total{method, route, status}` and
///   `concepts_http_request_duration_seconds{method, route}` (a histogram) per route template;
/// - `concepts_composition_cache_total{result="hit"|"miss"}`;
/// - `concepts_served_bytes_total` (file bytes sent by `GET /v1/files/{sha256}`).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    static let buckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map { Duration.microseconds(Int64($0 * 1e6)) }

    private let servedBytes: Counter
    private let cacheHits: Counter
    private let cacheMisses: Counter

    public init() {
        servedBytes = registry.makeCounter(descriptor: .init(namespace: "concepts", metricName: "served_bytes", unitName: "total",
                                                             helpText: "File bytes sent by GET /v1/files/{sha256}"))
        let cache = MetricNameDescriptor(namespace: "concepts", metricName: "composition_cache", unitName: "total",
                                         helpText: "Composition requests answered from the cache (hit) or solved (miss)")
        cacheHits = registry.makeCounter(descriptor: cache, labels: [("result", "hit")])
        cacheMisses = registry.makeCounter(descriptor: cache, labels: [("result", "miss")])
    }

    func recordRequest(method: String, route: String, status: Int, seconds: Duration) {
        registry.makeCounter(descriptor: .init(namespace: "concepts", subsystem: "http", metricName: "requests", unitName: "total",
                                               helpText: "HTTP requests by route template and status"),
                             labels: [("method", method), ("route", route), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: .init(namespace: "concepts", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                                                         helpText: "Time to the response head, by route template"),
                                       labels: [("method", method), ("route", route)], buckets: Self.buckets).record(seconds)
    }

    func recordServed(bytes: Int) { servedBytes.increment(by: Int64(bytes)) }
    func recordComposition(cached: Bool) { (cached ? cacheHits : cacheMisses).increment() }

    /// The exposition text.
    public func text() -> String { registry.emitToString() }
}

/// Counts every request and times it to the response head, labelled with the matched route template
/// (`NotFound` for unknown routes), after errors have become responses.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.recordRequest(method: request.method.rawValue, route: context.endpointPath ?? "NotFound", status: response.status.code,
                              seconds: ContinuousClock.now - start)
        return response
    }
}

/// Turns every thrown error, the router's own 404/405 included, into the API's JSON error body.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(apiError.message)"])
            }
            return try apiError.response(from: request, context: context)
        }
    }
}
