import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What `concepts pull URL REF… [--compose] [--regset R] [--format F] [--token T] --out DIR` asks.
public struct PullRequest: Sendable {
    public var server: String
    public var references: [String]
    public var compose: Bool
    public var regset: String?
    public var format: String
    public var token: String?
    public var output: URL
    public var cache: ContentCache

    public init(server: String, references: [String], compose: Bool = false, regset: String? = nil, format: String = "diffusers",
                token: String? = nil, output: URL, cache: ContentCache = ContentCache(root: ContentCache.defaultRoot())) {
        self.server = server
        self.references = references
        self.compose = compose
        self.regset = regset
        self.format = format
        self.token = token
        self.output = output
        self.cache = cache
    }
}

/// `pull`'s JSON result (CLI.md "Service and remote stores").
public struct PullResult: Codable, Sendable {
    public var files: [String]
    public var downloadedBytes: Int
    public var cachedBytes: Int
    public var compositionID: String?
    /// With `--compose`: each REF's token in the composition (`<new1-dog>` when names clashed).
    public var tokens: [String: String]?
    enum CodingKeys: String, CodingKey {
        case files, tokens
        case downloadedBytes = "downloaded_bytes"
        case cachedBytes = "cached_bytes"
        case compositionID = "composition_id"
    }
}

/// A manifest entry as the server sends it.
struct ManifestFile: Codable, Sendable {
    let path: String
    let size: Int
    let sha256: String
    let url: String
}

/// Fetches concepts or a composition from a `concepts serve` (issue 11 §4) through async-http-client:
/// the manifest first, then every file not already in the local content-addressed cache, resuming
/// partial downloads with `Range`, checking each SHA-256 before the file is used, and writing the
/// folder a diffusers / ComfyUI worker loads. A second pull of the same files downloads nothing.
public struct RegistryPuller: Sendable {
    let client: HTTPClient
    let timeout: TimeAmount

    public init(client: HTTPClient = .shared, timeout: TimeAmount = .minutes(30)) {
        self.client = client
        self.timeout = timeout
    }

    public func pull(_ request: PullRequest) async throws -> PullResult {
        let base = try Self.baseURL(request.server)
        var result = PullResult(files: [], downloadedBytes: 0, cachedBytes: 0, compositionID: nil, tokens: nil)
        var jobs: [(directory: URL, files: [ManifestFile])] = []
        if request.compose {
            struct Body: Encodable { let concepts: [String]; let regset: String?; let format: String }
            struct Answer: Decodable {
                struct Report: Decodable { let tokens: [String: String] }
                let composition_id: String
                let files: [ManifestFile]
                let report: Report
            }
            let answer: Answer = try await json(.POST, base + "/v1/compositions", token: request.token,
                                                body: Body(concepts: request.references, regset: request.regset, format: request.format))
            result.compositionID = answer.composition_id
            result.tokens = answer.report.tokens
            jobs.append((request.output, answer.files))
        } else {
            struct Answer: Decodable { let name: String; let files: [ManifestFile] }
            for reference in request.references {
                let encoded = reference.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? reference
                let format = request.format.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? request.format
                let answer: Answer = try await json(.GET, base + "/v1/concepts/\(encoded)/files?format=\(format)", token: request.token)
                // One REF: its files go straight into DIR; several: DIR/<name>/ each.
                let directory = request.references.count == 1 ? request.output : request.output.appendingPathComponent(try Self.safe(answer.name))
                jobs.append((directory, answer.files))
            }
        }
        for (directory, files) in jobs {
            for file in files {
                let relative = try Self.safe(file.path)
                guard file.size >= 0, file.sha256.count == 64 else { throw PullError.invalidManifest("bad entry for \(file.path)") }
                if request.cache.holds(sha256: file.sha256, size: file.size) {
                    result.cachedBytes += file.size
                } else {
                    result.downloadedBytes += try await download(file, base: base, token: request.token, cache: request.cache)
                }
                let target = directory.appendingPathComponent(relative)
                try place(request.cache.path(for: file.sha256), at: target)
                result.files.append(target.path)
            }
        }
        return result
    }

    // MARK: Downloads

    /// Downloads one file into the cache (resuming `partial/<sha>` with `Range`), verifies it and
    /// returns the bytes received over the network.
    func download(_ file: ManifestFile, base: String, token: String?, cache: ContentCache) async throws -> Int {
        let partial = cache.partialPath(for: file.sha256)
        try FileManager.default.createDirectory(at: partial.deletingLastPathComponent(), withIntermediateDirectories: true)
        var have = (try? FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int) ?? 0
        if have > file.size { try? FileManager.default.removeItem(at: partial); have = 0 }
        let url = file.url.hasPrefix("http://") || file.url.hasPrefix("https://") ? file.url : base + file.url
        var received = 0
        if have < file.size {
            var request = HTTPClientRequest(url: url)
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if have > 0 {
                request.headers.add(name: "Range", value: "bytes=\(have)-")
                request.headers.add(name: "If-Range", value: "\"\(file.sha256)\"")
            }
            let response = try await client.execute(request, timeout: timeout)
            let append: Bool
            switch response.status.code {
            case 206: append = true
            case 200: append = false
            default: throw try await Self.failure(url, response)
            }
            if !append || !FileManager.default.fileExists(atPath: partial.path) {
                guard FileManager.default.createFile(atPath: partial.path, contents: nil) else { throw PullError.io(path: partial.path, reason: "cannot create") }
            }
            guard let handle = FileHandle(forWritingAtPath: partial.path) else { throw PullError.io(path: partial.path, reason: "cannot open") }
            defer { try? handle.close() }
            if append { try handle.seekToEnd() }
            for try await buffer in response.body {
                try handle.write(contentsOf: Data(buffer.readableBytesView))
                received += buffer.readableBytes
            }
            try handle.synchronize()
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int) ?? 0
        guard size == file.size else {
            if size > file.size { try? FileManager.default.removeItem(at: partial) }
            throw PullError.sizeMismatch(path: file.path, expected: file.size, actual: size)
        }
        let actual = try ContentCache.sha256(of: partial)
        guard actual == file.sha256 else {
            try? FileManager.default.removeItem(at: partial)
            throw PullError.checksumMismatch(path: file.path, expected: file.sha256, actual: actual)
        }
        try cache.adopt(partial, sha256: file.sha256)
        return received
    }

    /// Copies a cached file into the output folder (a copy, so editing the output never alters the cache).
    func place(_ cached: URL, at target: URL) throws {
        do {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
            try FileManager.default.copyItem(at: cached, to: target)
        } catch {
            throw PullError.io(path: target.path, reason: error.localizedDescription)
        }
    }

    // MARK: JSON calls

    func json<Answer: Decodable>(_ method: HTTPMethod, _ url: String, token: String?, body: (some Encodable)? = Optional<String>.none) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        let response = try await client.execute(request, timeout: timeout)
        guard (200..<300).contains(Int(response.status.code)) else { throw try await Self.failure(url, response) }
        let bytes = try await response.body.collect(upTo: 64 << 20)
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(bytes.readableBytesView))
        } catch {
            throw PullError.invalidManifest("\(url): \(error)")
        }
    }

    /// The server's `{"error": {"code", "message"}}` as a `PullError`.
    static func failure(_ url: String, _ response: HTTPClientResponse) async throws -> PullError {
        let bytes = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
        struct Envelope: Decodable { struct Inner: Decodable { let code: String; let message: String }; let error: Inner }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes.readableBytesView)) {
            return .http(url: url, status: Int(response.status.code), code: envelope.error.code, message: envelope.error.message)
        }
        return .http(url: url, status: Int(response.status.code), code: nil, message: response.status.reasonPhrase)
    }

    // MARK: Checks

    /// `http(s)://host[:port]` without a trailing slash.
    static func baseURL(_ text: String) throws -> String {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw PullError.badURL(text)
        }
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// A relative path from a manifest: no absolute path, no `..`, no control characters.
    static func safe(_ path: String) throws -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), !components.contains(where: { $0.isEmpty || $0 == ".." || $0 == "." }),
              !path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "\\" }) else {
            throw PullError.unsafePath(path)
        }
        return path
    }
}
