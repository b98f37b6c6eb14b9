import AsyncHTTPClient
import Foundation
import NIOCore
import Registry
import Testing

@Suite("server: reliability")
struct ReliabilityTests {
    @Test("malformed requests get clean JSON errors and the server keeps serving")
    func malformed() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.write)
        let unknown = try await http(.GET, server.base + "/v2/nothing", token: token)
        #expect(unknown.status == 404 && unknown.errorCode == "not_found")
        #expect(try await http(.PATCH, server.base + "/v1/concepts", token: token).status >= 400)
        #expect(try await http(.PUT, server.base + "/v1/concepts/cat/aliases/a", token: token, body: Data("{\"version\": \"one\"}".utf8)).status == 400)
        #expect(try await http(.PUT, server.base + "/v1/concepts/cat/aliases/a", token: token, body: Data([0xFF, 0xFE])).status == 400)
        #expect(try await http(.PUT, server.base + "/v1/concepts/cat/aliases/latest", token: token, body: json(["version": 1])).status == 400)
        #expect(try await http(.GET, server.base + "/v1/concepts/ca%0At", token: token).status == 400)
        #expect(try await http(.GET, server.base + "/v1/concepts/%2E%2E", token: token).status == 400)
        #expect(try await http(.GET, server.base + "/v1/concepts/a@b@c", token: token).status == 400)
        #expect(try await http(.POST, server.base + "/v1/regsets", token: token, body: Data(repeating: 0x20, count: 5 << 20)).status == 413)
        // An oversized header block: refused (or the connection closed), never a crash.
        let huge = try? await http(.GET, server.base + "/v1/concepts", token: token, headers: [("X-Big", String(repeating: "a", count: 200_000))])
        #expect(huge.map { $0.status == 400 } ?? true)  // NIO's parser answers 400 (empty body) and closes
        #expect(try await http(.GET, server.base + "/healthz").status == 200)
        #expect(try await http(.GET, server.base + "/v1/concepts", token: token).status == 200)
    }

    @Test("CLI writers and the server on one store: versions stay consecutive")
    func concurrentWriters() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.write)
        let archive = try temporaryDirectory().appendingPathComponent("cat.tar")
        try tarFolder(tinyConcept("cat-diffusers"), to: archive)
        let body = try Data(contentsOf: archive)
        let root = server.root.path
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<3 {
                group.addTask { try await http(.POST, server.base + "/v1/concepts/multi/versions?base=tiny&category=cat", token: token, body: body).status }
                group.addTask {
                    Int(try runConcepts(["--store", root, "register", "multi", "--base", "tiny", "--category", "cat", tinyConcept("cat-diffusers").path]).status)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.sorted() == [0, 0, 0, 201, 201, 201])
        #expect(try server.store.versions(of: "multi").map(\.version).sorted() == [1, 2, 3, 4, 5, 6])
        #expect(try server.store.verify().problems.isEmpty)
    }

    @Test("a stalled upload holds no database lock: other writes and reads go on")
    func stalledClient() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let token = try server.token(.write)
        // A body that sends 64 KiB and then waits.
        let stalled = Task {
            var request = HTTPClientRequest(url: server.base + "/v1/concepts/slow/versions?base=tiny&category=cat")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .stream(StallingBody(), length: .known(Int64(1 << 20)))
            _ = try? await HTTPClient.shared.execute(request, timeout: .seconds(300))
        }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        let tag = try await http(.PUT, server.base + "/v1/concepts/cat/aliases/live", token: token, body: json(["version": 1]))
        #expect(tag.status == 200)
        #expect(try runConcepts(["--store", server.root.path, "register", "cat", "--base", "tiny", "--category", "cat", tinyConcept("cat-diffusers").path]).status == 0)
        // Were a lock held for the stalled upload, these would wait for its 300 s timeout; under a loaded
        // CI machine a register alone can take tens of seconds.
        #expect(ContinuousClock.now - start < .seconds(150))
        stalled.cancel()
        #expect(try server.store.versions(of: "cat").count == 2)
    }

    @Test("SIGKILL mid-upload leaves nothing referenced half-written (verify clean); SIGTERM stops gracefully")
    func killedServer() async throws {
        guard let binary = conceptsBinary else { throw TestFailure(description: "no concepts binary") }
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try makeStore(at: root)
        let token = try store.createToken(name: "w", scope: .write).token
        let versionsBefore = try catalogInt(store, "SELECT COUNT(*) FROM concept_version")

        func launch() throws -> (Process, Int, URL) {
            let log = root.appendingPathComponent("serve-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--store", root.path, "serve", "--port", "0"]
            process.standardError = try FileHandle(forWritingTo: log)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<200 {
                let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
                if let range = text.range(of: "on http://127.0.0.1:"), let port = Int(text[range.upperBound...].prefix { $0.isNumber }) {
                    return (process, port, log)
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            process.terminate()
            throw TestFailure(description: "the server did not start")
        }

        let (process, port, _) = try launch()
        let upload = Task {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/concepts/half/versions?base=tiny&category=cat")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .stream(StallingBody(), length: .known(Int64(1 << 20)))
            _ = try? await HTTPClient.shared.execute(request, timeout: .seconds(60))
        }
        try await Task.sleep(for: .milliseconds(500))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        upload.cancel()
        let reopened = try Store(root: root, create: false)
        #expect(try reopened.verify().problems.isEmpty)
        #expect(try catalogInt(reopened, "SELECT COUNT(*) FROM concept_version") == versionsBefore)
        #expect(try reopened.listConcepts().map(\.name) == ["cat", "dog"])

        // A new server on the same store serves; SIGTERM during an upload lets it finish (201, registered),
        // then the process ends with status 0 after "stopped".
        let (second, port2, log2) = try launch()
        #expect(try await http(.GET, "http://127.0.0.1:\(port2)/v1/concepts", token: token).status == 200)
        let archive = root.appendingPathComponent("cat.tar")
        try tarFolder(tinyConcept("cat-diffusers"), to: archive)
        let bytes = try Data(contentsOf: archive)
        let progress = ChunkCounter()
        let inFlight = Task { () -> Int in
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port2)/v1/concepts/late/versions?base=tiny&category=cat")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .stream(SlowBody(data: bytes, chunks: 12, pause: .milliseconds(250), progress: progress),
                                   length: .known(Int64(bytes.count)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
        // SIGTERM while the body is still arriving: once the client has sent the head and two chunks (so the
        // server holds the connection, whatever the machine's load), with ~2.5 s of body to go.
        let deadline = ContinuousClock.now + .seconds(60)
        while progress.count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(progress.count >= 2, "the upload never started")
        second.terminate()
        #expect(try await inFlight.value == 201)
        second.waitUntilExit()
        #expect(try Store(root: root, create: false).versions(of: "late").map(\.version) == [1])
        #expect(second.terminationStatus == 0)
        #expect(String(decoding: try Data(contentsOf: log2), as: UTF8.self).contains("stopped"))
    }
}

/// A request body that sends 64 KiB, then never finishes (until cancelled).
struct StallingBody: AsyncSequence, Sendable {
    typealias Element = NIOCore.ByteBuffer
    struct AsyncIterator: AsyncIteratorProtocol {
        var sent = false
        mutating func next() async throws -> NIOCore.ByteBuffer? {
            if !sent {
                sent = true
                return NIOCore.ByteBuffer(repeating: 0x41, count: 64 << 10)
            }
            try await Task.sleep(for: .seconds(3600))
            return nil
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

/// A request body sent in `chunks` pieces with a pause between them (a slow client that does finish).
struct SlowBody: AsyncSequence, Sendable {
    typealias Element = NIOCore.ByteBuffer
    let data: Data
    let chunks: Int
    let pause: Duration
    /// Counts the chunks handed to the client so far.
    var progress = ChunkCounter()
    struct AsyncIterator: AsyncIteratorProtocol {
        let body: SlowBody
        var index = 0
        mutating func next() async throws -> NIOCore.ByteBuffer? {
            let size = (body.data.count + body.chunks - 1) / body.chunks
            let start = index * size
            guard start < body.data.count else { return nil }
            if index > 0 { try await Task.sleep(for: body.pause) }
            index += 1
            body.progress.increment()
            return NIOCore.ByteBuffer(bytes: body.data[start..<Swift.min(start + size, body.data.count)])
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
}

/// A counter shared between a request body and the test that waits on it.
final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var count: Int { lock.withLock { value } }
    func increment() { lock.withLock { value += 1 } }
}
