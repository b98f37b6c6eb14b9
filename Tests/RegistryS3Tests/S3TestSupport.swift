import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import RegistryS3

/// The moto server started by `scripts/services/moto.sh start` (its env file sourced), or nothing.
enum Moto {
    static let environment = ProcessInfo.processInfo.environment
    static let endpoint = environment["CONCEPTS_TEST_S3_ENDPOINT"] ?? ""
    static let accessKey = environment["CONCEPTS_TEST_S3_ACCESS_KEY"] ?? ""
    static let secretKey = environment["CONCEPTS_TEST_S3_SECRET_KEY"] ?? ""
    static var available: Bool { !endpoint.isEmpty && !accessKey.isEmpty && !secretKey.isEmpty }

    /// The environment `S3BlobStore(url:environment:)` reads, pointing at moto.
    static func awsEnvironment(secret: String = secretKey) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": endpoint,
         "CONCEPTS_S3_COMPAT": "moto"]
    }

    /// A fresh bucket (unique name) and a store on it, with a small policy where a test needs one.
    static func store(prefix: String = "blobs", secret: String = secretKey,
                      adjust: (inout S3Configuration) -> Void = { _ in }) throws -> S3BlobStore {
        let bucket = "concepts-test-" + UUID().uuidString.lowercased().prefix(18)
        var configuration = try S3Configuration(bucket: bucket, environment: awsEnvironment(secret: secret))
        configuration.baseDelay = 0.01
        adjust(&configuration)
        let store = try S3BlobStore(bucket: bucket, prefix: prefix, configuration: configuration)
        try S3Client.wait(store.client.createBucket())
        return store
    }
}

/// A local HTTP server whose answers are scripted per request (status codes in order; the last
/// one repeats), counting the requests it saw: for the retry tests.
final class ScriptedServer: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int]
    private var seen: [String] = []
    private var channel: (any Channel)?
    private(set) var port = 0

    init(statuses: [Int]) throws {
        self.statuses = statuses
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(server: self))
                }
            }
        let channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        self.channel = channel
        port = channel.localAddress?.port ?? 0
    }

    var requests: [String] { lock.withLock { seen } }

    func close() { try? channel?.close().wait() }

    fileprivate func next(_ line: String) -> Int {
        lock.withLock {
            seen.append(line)
            return statuses.count > 1 ? statuses.removeFirst() : statuses.first ?? 200
        }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: ScriptedServer
        var line = ""
        init(server: ScriptedServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                line = "\(head.method.rawValue) \(head.uri)"
            case .body:
                break
            case .end:
                let status = server.next(line)
                let body = status == 200 ? "" : "<Error><Code>SlowDown</Code><Message>scripted \(status)</Message></Error>"
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: String(body.utf8.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers))), promise: nil)
                if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil) }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// A client configuration for a plain local endpoint (the scripted server, or a closed port).
func localConfiguration(port: Int, maxAttempts: Int = 4) throws -> S3Configuration {
    var configuration = S3Configuration(
        endpoint: try S3Endpoint.override("http://127.0.0.1:\(port)", bucket: "bucket"), region: "us-east-1",
        credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"))
    configuration.maxAttempts = maxAttempts
    configuration.baseDelay = 0.01
    configuration.maxDelay = 0.05
    configuration.connectTimeout = 0.5
    return configuration
}

/// Incompressible bytes (a seeded xorshift stream), so stored size ≈ size.
func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[i] = UInt8(truncatingIfNeeded: state)
    }
    return Data(bytes)
}
