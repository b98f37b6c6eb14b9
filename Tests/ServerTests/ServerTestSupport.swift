import GRDB
import AsyncHTTPClient
import Foundation
import TestSupport
import NIOCore
import NIOHTTP1
import Registry
import RegistryServer

let sdTiny = packageRoot.appendingPathComponent("fixtures/sd-tiny")
func tinyConcept(_ name: String) -> URL { sdTiny.appendingPathComponent("concepts/\(name)") }

struct TestFailure: Error, CustomStringConvertible { var description: String }

/// A fresh temporary directory.
func temporaryDirectory(_ prefix: String = "concepts-server") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A store with the tiny SD1-layout base as `tiny` and, unless `empty`, `cat` and `dog` registered
/// the way `concepts register` does (default policy).
func makeStore(at root: URL, concepts: Bool = true) throws -> Store {
    let store = try Store(root: root, create: true)
    _ = try BaseModelImporter.add(name: "tiny", path: sdTiny.appendingPathComponent("base"), to: store)
    if concepts {
        _ = try ConceptRegistrar.register(RegisterRequest(name: "cat", base: "tiny", path: tinyConcept("cat-diffusers"), categories: ["cat"]), in: store)
        _ = try ConceptRegistrar.register(RegisterRequest(name: "dog", base: "tiny", path: tinyConcept("dog-diffusers"), categories: ["dog"]), in: store)
    }
    return store
}

/// `concepts serve` inside the test process on an ephemeral loopback port; `stop()` cancels it,
/// which shuts the server down gracefully.
final class TestServer: @unchecked Sendable {
    let root: URL
    let server: RegistryServer
    let port: Int
    private let task: Task<Void, any Error>
    var store: Store { server.store }
    var base: String { "http://127.0.0.1:\(port)" }

    init(root: URL, server: RegistryServer, port: Int, task: Task<Void, any Error>) {
        self.root = root
        self.server = server
        self.port = port
        self.task = task
    }

    static func start(publicRead: Bool = false, maxUpload: Int = ServerConfiguration.defaultMaxUpload, concepts: Bool = true,
                      root existing: URL? = nil) async throws -> TestServer {
        let root = try existing ?? { let r = try temporaryDirectory(); _ = try makeStore(at: r, concepts: concepts); return r }()
        let server = try await RegistryServer(configuration: ServerConfiguration(storeRoot: root, host: "127.0.0.1", port: 0,
                                                                                 publicRead: publicRead, maxUpload: maxUpload))
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.application(onRunning: { continuation.yield($0) }).run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestFailure(description: "the server did not report a port") }
        return TestServer(root: root, server: server, port: port, task: task)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// A token of `scope` created through the store (as `concepts token create` does).
    func token(_ scope: TokenScope, name: String? = nil) throws -> String {
        try store.createToken(name: name ?? "\(scope.rawValue)-\(UUID().uuidString.prefix(8))", scope: scope).token
    }

    deinit { try? FileManager.default.removeItem(at: root) }
}

/// A response: status, headers, body.
struct HTTPAnswer {
    let status: Int
    let headers: HTTPHeaders
    let body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
    /// `error.code` of an API error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// One HTTP request through async-http-client.
func http(_ method: HTTPMethod = .GET, _ url: String, token: String? = nil, headers: [(String, String)] = [],
          body: Data? = nil) async throws -> HTTPAnswer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
    let bytes = try await response.body.collect(upTo: 256 << 20)
    return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
}

func json(_ object: Any) -> Data { (try? JSONSerialization.data(withJSONObject: object)) ?? Data() }

/// Hex SHA-256 of bytes (through the registry's digest).
func sha256(_ data: Data) -> String { data.withUnsafeBytes { BlobStore.digest($0) } }

/// A tar of `folder` (its name as the top directory), made by Debian's tar.
func tarFolder(_ folder: URL, to archive: URL) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/tar")
    process.arguments = ["--format=ustar", "-cf", archive.path, "-C", folder.deletingLastPathComponent().path, folder.lastPathComponent]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestFailure(description: "tar failed") }
}

/// A one-entry ustar archive whose entry name is `name` (for refusal tests: `../x`, symlinks).
func ustar(name: String, contents: Data, type: UInt8 = UInt8(ascii: "0")) -> Data {
    var header = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, _ offset: Int) { for (i, b) in text.utf8.enumerated() { header[offset + i] = b } }
    put(name, 0)
    put("0000644\0", 100); put("0000000\0", 108); put("0000000\0", 116)
    put(String(format: "%011o\0", contents.count), 124)
    put("00000000000\0", 136)
    header[156] = type
    put("ustar\0", 257); put("00", 263)
    for i in 148..<156 { header[i] = 0x20 }
    let sum = header.reduce(0) { $0 + Int($1) }
    put(String(format: "%06o\0 ", sum), 148)
    var data = Data(header) + contents
    data.append(Data(count: (512 - contents.count % 512) % 512))
    data.append(Data(count: 1024))
    return data
}

/// The built `concepts` next to the test bundle (as CLITests finds it); `CONCEPTS_BINARY` overrides.
let conceptsBinary: String? = {
    if let override = ProcessInfo.processInfo.environment["CONCEPTS_BINARY"] { return override }
    var candidates: [URL] = []
    if let first = ProcessInfo.processInfo.arguments.first {
        candidates.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
    }
    candidates.append(Bundle.main.bundleURL)
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for directory in candidates {
        var current = directory
        for _ in 0..<4 {
            let candidate = current.appendingPathComponent("concepts")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            current = current.deletingLastPathComponent()
        }
    }
    return nil
}()

/// Runs `concepts args…` to completion; returns status and stdout.
func runConcepts(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, stdout: String) {
    guard let binary = conceptsBinary else { throw TestFailure(description: "cannot find the built `concepts`") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = args
    process.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    let out = try temporaryDirectory("concepts-out").appendingPathComponent("stdout")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    let handle = try FileHandle(forWritingTo: out)
    process.standardOutput = handle
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try handle.close()
    let stdout = String(decoding: try Data(contentsOf: out), as: UTF8.self)
    try? FileManager.default.removeItem(at: out.deletingLastPathComponent())
    return (process.terminationStatus, stdout)
}

/// Catalog reads from async tests (GRDB's synchronous `read`).
func catalogInt(_ store: Store, _ sql: String) throws -> Int? { try store.database.read { db in try Int.fetchOne(db, sql: sql) } }
func catalogStrings(_ store: Store, _ sql: String) throws -> [String] { try store.database.read { db in try String.fetchAll(db, sql: sql) } }
