import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small S3 REST client over async-http-client: signed requests (`SigV4Signer`, payloads always
/// signed with their SHA-256), bounded retries with exponential backoff on 5xx, 429 and connection
/// errors, path-style or virtual-host addressing. Operations return `EventLoopFuture`s on AHC's own
/// event loop group; `S3BlobStore` waits for them on its caller's thread (never an event loop).
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let http: HTTPClient
    let signer: SigV4Signer

    public init(configuration: S3Configuration) {
        self.configuration = configuration
        var signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
        signer.queryKeepsSlash = configuration.queryKeepsSlash
        self.signer = signer
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = .init(connect: .milliseconds(Int64(configuration.connectTimeout * 1000)), read: .seconds(120))
        httpConfiguration.decompression = .disabled
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, configuration.concurrency * 2)
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
    }

    deinit {
        // Non-blocking (the callback runs on a dispatch queue), so safe from any thread.
        http.shutdown { _ in }
    }

    /// A response with its whole body.
    public struct Response: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: NIOCore.ByteBuffer?

        /// The body as UTF-8 text (XML responses).
        public var text: String { body.map { String(buffer: $0) } ?? "" }
    }

    /// Sends one signed request, retrying as configured. Statuses in `accept` succeed; 5xx and 429
    /// are retried; anything else fails with `S3Error.http` (code and message from S3's XML body).
    public func send(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                     body: NIOCore.ByteBuffer? = nil, payloadHash: String? = nil, accept: Set<Int> = [200]) -> EventLoopFuture<Response> {
        let hash = payloadHash ?? body.map { buffer in buffer.withUnsafeReadableBytes { SigV4Signer.payloadHash($0) } } ?? SigV4Signer.emptyPayloadHash
        let call = Call(method: method, key: key, query: query, headers: headers, body: body, payloadHash: hash, accept: accept)
        return attempt(call, number: 1, on: http.eventLoopGroup.next())
    }

    struct Call: Sendable {
        let method: HTTPMethod
        let key: String?
        let query: [(String, String)]
        let headers: [(String, String)]
        let body: NIOCore.ByteBuffer?
        let payloadHash: String
        let accept: Set<Int>
        /// For messages: the key, or the bucket operation's query.
        var label: String { key ?? "/" + query.map(\.0).joined(separator: "&") }
    }

    private func attempt(_ call: Call, number: Int, on eventLoop: any EventLoop) -> EventLoopFuture<Response> {
        let request: HTTPClient.Request
        do {
            request = try makeRequest(call)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let promise = eventLoop.makePromise(of: Response.self)
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.requestTimeout * 1000))
        http.execute(request: request, eventLoop: .delegate(on: eventLoop), deadline: deadline).whenComplete { result in
            let retryable = number < self.configuration.maxAttempts
            switch result {
            case .failure(let error):
                if retryable {
                    promise.completeWith(self.retry(call, after: number, on: eventLoop))
                } else {
                    promise.fail(S3Error.transport(method: call.method.rawValue, key: call.label, attempts: number, reason: String(describing: error)))
                }
            case .success(let response):
                let status = Int(response.status.code)
                if call.accept.contains(status) {
                    promise.succeed(Response(status: status, headers: response.headers, body: response.body))
                } else if (status >= 500 || status == 429) && retryable {
                    promise.completeWith(self.retry(call, after: number, on: eventLoop))
                } else {
                    let text = response.body.map { String(buffer: $0) } ?? ""
                    promise.fail(S3Error.http(method: call.method.rawValue, key: call.label, status: status,
                                              code: S3XML.value("Code", in: text) ?? "", message: S3XML.value("Message", in: text) ?? ""))
                }
            }
        }
        return promise.futureResult
    }

    /// Waits the backoff for retry `after` (with ±50 % jitter), then makes attempt `after + 1`.
    private func retry(_ call: Call, after number: Int, on eventLoop: any EventLoop) -> EventLoopFuture<Response> {
        let delay = configuration.backoff(retry: number) * Double.random(in: 0.5...1.5)
        return eventLoop.scheduleTask(in: .milliseconds(Int64(delay * 1000))) {}.futureResult.flatMap {
            self.attempt(call, number: number + 1, on: eventLoop)
        }
    }

    private func makeRequest(_ call: Call) throws -> HTTPClient.Request {
        let endpoint = configuration.endpoint
        let signable = SigV4Signer.Request(method: call.method.rawValue, path: endpoint.path(key: call.key), query: call.query,
                                           headers: [("host", endpoint.hostHeader)] + call.headers, payloadHash: call.payloadHash)
        var headers = HTTPHeaders()
        for (name, value) in signer.sign(signable, date: Date()) { headers.add(name: name, value: value) }
        return try HTTPClient.Request(url: endpoint.url(key: call.key, query: call.query, queryKeepsSlash: configuration.queryKeepsSlash), method: call.method, headers: headers,
                                      body: call.body.map { .byteBuffer($0) })
    }

    // MARK: Waiting

    /// Waits for `future` on the calling thread; refuses to on an event-loop thread (it would deadlock).
    @discardableResult
    public static func wait<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        guard MultiThreadedEventLoopGroup.currentEventLoop == nil else { throw S3Error.calledOnEventLoop }
        return try future.wait()
    }

    public var anyEventLoop: any EventLoop { http.eventLoopGroup.next() }
}
