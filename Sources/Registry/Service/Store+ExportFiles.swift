import CustomDiffusion
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One generated file as the service lists it in a manifest (issue 11 §2).
public struct StoredFile: Codable, Sendable, Equatable {
    /// Relative path inside the exported folder (e.g. `pytorch_lora_weights.safetensors`, `<new1>.safetensors`).
    public let path: String
    public let size: Int
    public let sha256: String
}

extension Store {
    /// The catalog owner key of a concept version's exports.
    public static func exportOwner(versionID: Int64) -> String { "version:\(versionID)" }
    /// The catalog owner key of a composition's exports.
    public static func exportOwner(compositionID: String) -> String { "composition:\(compositionID)" }

    /// The files recorded for `owner` in `format`, or nil when that export was never made.
    public func exportedFiles(owner: String, format: ExportFormat) throws -> [StoredFile]? {
        let records = try catalog.read { connection in
            try connection.fetchAll(ExportFileRecord.self, "SELECT * FROM export_file WHERE owner = ? AND format = ? ORDER BY path",
                                    [owner, format.rawValue])
        }
        guard !records.isEmpty else { return nil }
        return records.map { StoredFile(path: $0.path, size: $0.size, sha256: $0.blob) }
    }

    /// Every format already exported for `owner`.
    public func exportedFormats(owner: String) throws -> [ExportFormat] {
        try catalog.read { connection in
            try connection.fetchColumn("SELECT DISTINCT format FROM export_file WHERE owner = ? ORDER BY format", [owner], as: String.self)
        }.compactMap(ExportFormat.init(rawValue:))
    }

    /// A concept version's files in `format`: exported once (through `export`, exactly as the CLI
    /// writes them), stored as blobs and recorded; later calls only read the catalog.
    public func versionExport(_ reference: ConceptReference, format: ExportFormat) throws -> (ResolvedVersion, [StoredFile]) {
        let resolved = try resolve(reference)
        let owner = Self.exportOwner(versionID: resolved.versionID)
        if let files = try exportedFiles(owner: owner, format: format) { return (resolved, files) }
        let directory = try scratchDirectory("export")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try export(reference, format: format, to: directory)
        return (resolved, try recordExport(owner: owner, format: format, directory: directory, files: result.files))
    }

    /// Stores the files an export wrote under `directory` as blobs (and as plain copies for serving),
    /// then records them for (`owner`, `format`) in one transaction. A concurrent recording of the
    /// same export wins: its rows (same content) are kept.
    public func recordExport(owner: String, format: ExportFormat, directory: URL, files: [String]) throws -> [StoredFile] {
        let lock = try StoreLock(store: root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }
        let base = directory.standardizedFileURL.path
        let batch = blobs.batch()
        var entries: [(StoredFile, BlobStore.PutResult)] = []
        for file in files {
            let url = URL(fileURLWithPath: file).standardizedFileURL
            guard url.path.hasPrefix(base + "/") else { throw RegistryError.io(path: file, reason: "exported outside \(base)") }
            let relative = String(url.path.dropFirst(base.count + 1))
            let data = try Data(contentsOf: url, options: .alwaysMapped)
            let put = try batch.put(data)
            try storeServedCopy(of: url, sha256: put.sha256)
            entries.append((StoredFile(path: relative, size: data.count, sha256: put.sha256), put))
        }
        try batch.commit()
        let now = Timestamp.now()
        try catalog.write { connection in
            if try connection.exists("SELECT 1 FROM export_file WHERE owner = ? AND format = ?", [owner, format.rawValue]) { return }
            for (file, put) in entries {
                try Store.recordBlob(put, in: connection)
                try connection.insert(ExportFileRecord(owner: owner, format: format.rawValue, path: file.path, blob: file.sha256, size: file.size,
                                                       createdAt: now), into: "export_file")
            }
        }
        return try exportedFiles(owner: owner, format: format) ?? entries.map(\.0).sorted { $0.path < $1.path }
    }

    // MARK: Serving

    /// The size of a blob the service may serve: one the catalog lists as an exported file.
    public func servedFileSize(sha256: String) throws -> Int? {
        try catalog.read { connection in try connection.fetchValue("SELECT size FROM export_file WHERE blob = ? LIMIT 1", [sha256], as: Int.self) }
    }

    /// A plain (uncompressed) copy of an exported blob under `cache/files/`, for ranged reads and
    /// `sendfile`-style serving; made from the verified blob when missing. The blob stays the
    /// reference copy: `verify` checks blobs, and this cache can be deleted at any time.
    public func servedFilePath(sha256: String) throws -> URL {
        let path = servedCopyPath(sha256)
        if FileManager.default.fileExists(atPath: path.path) { return path }
        let data = try blobs.get(sha256)
        let temporary = try scratchDirectory("file").appendingPathComponent("data")
        defer { try? FileManager.default.removeItem(at: temporary.deletingLastPathComponent()) }
        try data.write(to: temporary)
        try moveIntoPlace(temporary, path)
        return path
    }

    func servedCopyPath(_ sha256: String) -> URL {
        root.appendingPathComponent("cache/files", isDirectory: true).appendingPathComponent(String(sha256.prefix(2)), isDirectory: true)
            .appendingPathComponent(String(sha256.dropFirst(2)))
    }

    private func storeServedCopy(of file: URL, sha256: String) throws {
        let path = servedCopyPath(sha256)
        guard !FileManager.default.fileExists(atPath: path.path) else { return }
        let temporary = try scratchDirectory("file").appendingPathComponent("data")
        defer { try? FileManager.default.removeItem(at: temporary.deletingLastPathComponent()) }
        try FileManager.default.copyItem(at: file, to: temporary)
        try moveIntoPlace(temporary, path)
    }

    private func moveIntoPlace(_ temporary: URL, _ target: URL) throws {
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard rename(temporary.path, target.path) == 0 else {
            throw RegistryError.io(path: target.path, reason: "rename: " + String(cString: strerror(errno)))
        }
    }

    /// A new empty directory under `cache/tmp/` (same filesystem as the store, so renames are atomic).
    public func scratchDirectory(_ prefix: String) throws -> URL {
        let directory = root.appendingPathComponent("cache/tmp", isDirectory: true).appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw RegistryError.io(path: directory.path, reason: "cannot create a scratch directory: \(error.localizedDescription)")
        }
        return directory
    }
}
