import CustomDiffusion
import Foundation
import Hummingbird
import Registry

extension RegistryServer {
    /// `POST /v1/concepts/{name}/versions`: a trainer output as the request body (a `.tar` of the
    /// folder, or one `delta.bin` / `delta*.ckpt` / `.safetensors`), `register`'s options as query
    /// parameters (`base`, `category`…, `token`…, `kind`, `compress`, `description`, `tag`…, `force`,
    /// and `filename` for a single file). The body is streamed to a scratch file (never whole in
    /// memory) and refused past `--max-upload` with 413; then `Store.register` — exactly
    /// what `concepts register` runs — validates and stores it (invalid content: 422 with its reason).
    func addUploadRoutes(to router: RouteTable) {
        let store = self.store, authorizer = self.authorizer, maxUpload = configuration.maxUpload

        router.post("/v1/concepts/{name}/versions") { request, context -> Response in
            try authorizer.require(.write, context)
            let name = try Validate.name(try context.parameters.require("ref"))
            let options = try UploadOptions(request.uri.queryParameters)
            if let length = request.headers[.contentLength].flatMap(Int.init), length > maxUpload { throw APIError.tooLarge(maxUpload) }

            let directory = try await blocking { try store.scratchDirectory("upload") }
            defer { try? FileManager.default.removeItem(at: directory) }
            let upload = directory.appendingPathComponent("upload.bin")
            let received = try await Self.receive(request.body, to: upload, limit: maxUpload, context: context)
            guard received > 0 else { throw APIError.unprocessable("the upload is empty") }

            let result = try await blocking { () throws -> RegisterResult in
                let path = try Self.unpack(upload, options: options, in: directory)
                let registerRequest = RegisterRequest(
                    name: name, base: options.base, path: path, categories: options.categories, tokens: options.tokens,
                    kind: options.kind, compression: options.compression, description: options.description, tags: options.tags, force: options.force)
                return try store.register(registerRequest)
            }
            return try JSONResponse.make(result, status: .created)
        }
    }

    /// Writes the body to `file` chunk by chunk, counting; past `limit` bytes → 413.
    static func receive(_ body: RequestBody, to file: URL, limit: Int, context: RegistryRequestContext) async throws -> Int {
        let counter = ByteCounter()
        do {
            try await FileIO().writeFile(contents: LimitedBody(base: body, limit: limit, counter: counter), path: file.path, context: context)
        } catch {
            // The limit error may arrive wrapped by the file writer: the count tells.
            if counter.value > limit { throw APIError.tooLarge(limit) }
            if let error = error as? APIError { throw error }
            throw APIError.badRequest("the upload was interrupted: \(error)")
        }
        return counter.value
    }

    /// The path `register` reads: the extracted folder of a tar, else the single file under its name.
    static func unpack(_ upload: URL, options: UploadOptions, in directory: URL) throws -> URL {
        let handle = try FileHandle(forReadingFrom: upload)
        let head = try handle.read(upToCount: 512) ?? Data()
        try handle.close()
        if TarExtractor.isTar(header: head) {
            let folder = directory.appendingPathComponent("trainer-output", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            do {
                try TarExtractor.extract(upload, into: folder)
            } catch let failure as TarExtractor.Failure {
                throw APIError.unprocessable(failure.localizedDescription)
            }
            // A tar of the folder itself (`tar cf x.tar out/`) holds one top-level directory: register that.
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            var isDirectory: ObjCBool = false
            if entries.count == 1, FileManager.default.fileExists(atPath: folder.appendingPathComponent(entries[0]).path, isDirectory: &isDirectory),
               isDirectory.boolValue {
                return folder.appendingPathComponent(entries[0], isDirectory: true)
            }
            return folder
        }
        let filename = options.filename ?? Self.guessFilename(head)
        let target = directory.appendingPathComponent(filename)
        try FileManager.default.moveItem(at: upload, to: target)
        return target
    }

    /// A name `register` recognises for an upload without `filename`: safetensors by its header
    /// (8-byte length then `{`), else a torch zip (`PK`) as an adobe `delta.bin`.
    static func guessFilename(_ head: Data) -> String {
        if head.count > 8, head[head.startIndex + 8] == UInt8(ascii: "{") { return "pytorch_custom_diffusion_weights.safetensors" }
        return "delta.bin"
    }
}

/// `register`'s options from the query string (CLI.md "Concepts").
struct UploadOptions: Sendable {
    var base: String
    var categories: [String]
    var tokens: [String]
    var kind: RegisterRequest.Kind
    var compression: CompressionPolicy
    var description: String
    var tags: [String]
    var force: Bool
    var filename: String?

    init(_ query: Parameters) throws {
        guard let base = query.get("base"), !base.isEmpty else { throw APIError.badRequest("the query parameter 'base' is required") }
        self.base = try Validate.name(base, kind: "base")
        categories = try query.getAll("category").map { try Validate.text($0, "category") }
        tokens = try query.getAll("token").map { try Validate.text($0, "token") }
        guard let kind = RegisterRequest.Kind(rawValue: query.get("kind") ?? "object") else { throw APIError.badRequest("kind must be object or style") }
        self.kind = kind
        do {
            compression = try CompressionPolicy(parsing: query.get("compress") ?? CompressionPolicy.default.description)
        } catch {
            throw APIError.badRequest((error as? LocalizedError)?.errorDescription ?? "bad compress policy")
        }
        description = query.get("description") ?? ""
        tags = try query.getAll("tag").map { try Validate.name($0, kind: "alias") }
        force = ["1", "true", "yes"].contains(query.get("force") ?? "")
        if let filename = query.get("filename") {
            let checked = try Validate.text(filename, "filename")
            guard [".bin", ".ckpt", ".safetensors", ".pt"].contains(where: { checked.hasSuffix($0) }) else {
                throw APIError.badRequest("filename must end in .bin, .ckpt, .pt or .safetensors")
            }
            self.filename = checked
        }
    }
}

/// Bytes received so far (written by the one task that drains the body).
final class ByteCounter: @unchecked Sendable {
    var value = 0
}

/// The request body, failing with 413 as soon as more than `limit` bytes arrived.
struct LimitedBody<Base: AsyncSequence>: AsyncSequence where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let limit: Int
    let counter: ByteCounter

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let limit: Int
        let counter: ByteCounter
        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else { return nil }
            counter.value += buffer.readableBytes
            if counter.value > limit { throw APIError.tooLarge(limit) }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit, counter: counter) }
}
