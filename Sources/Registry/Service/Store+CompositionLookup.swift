import CustomDiffusion
import Foundation

extension Store {
    /// The id `compose` gives (or gave) the composition of `references` with `regset`, computed
    /// without solving or exporting: the hash of (solver version, base, regset, Σ, versions in order).
    /// Lets the service answer a cached composition from the catalog alone.
    public func compositionID(references: [String], regset: String?) throws -> String {
        let resolved = try references.map { try resolve(ConceptReference(parsing: $0)) }
        guard let base = resolved.first else { throw RegistryError.invalidReference("compose needs at least one concept") }
        let sigmaSHA = try sigmaDigest(set: regset, baseID: base.baseID, baseName: base.baseName)
        return Self.compositionID(baseID: base.baseID, regset: regset ?? DefaultRegularizationCaptions.name, sigmaSHA256: sigmaSHA,
                                  versionIDs: resolved.map(\.versionID))
    }

    /// SHA-256 of Σ's stored bytes (what `compose` hashes into the key). A stored Σ row is never
    /// updated, so its digest is kept per process under (store, regset id, base id, the row's creation
    /// time) and the 4.7 MB Σ of an SD1 base is read and hashed once, not on every request.
    func sigmaDigest(set: String?, baseID: Int64, baseName: String) throws -> String {
        let name = set ?? DefaultRegularizationCaptions.name
        let key = try catalog.read { connection in
            try connection.fetchOne("""
                SELECT g.regset_id, g.base_id, g.created_at FROM regset_gram g JOIN regset r ON r.id = g.regset_id
                WHERE r.name = ? AND g.base_id = ?
                """, [name, baseID]).map { row in
                "\(try row.value("regset_id", as: Int64.self))|\(try row.value("base_id", as: Int64.self))|\(try row.value("created_at", as: String.self))"
            }
        }.map { root.path + "|" + $0 }
        if let key, let digest = SigmaDigests.shared.get(key) { return digest }
        let (sigma, _) = try regularizationGram(set: set, base: baseName)
        let digest = RegularizationFeatures.encode(sigma).withUnsafeBytes { BlobStore.digest($0) }
        if let key { SigmaDigests.shared.set(key, digest) }
        return digest
    }

    /// The cache key of a composition (see `compose`).
    static func compositionID(baseID: Int64, regset: String, sigmaSHA256: String, versionIDs: [Int64]) -> String {
        let key = ([Self.solverVersion, String(baseID), regset, sigmaSHA256] + versionIDs.map { String($0) }).joined(separator: "|")
        return String(Data(key.utf8).withUnsafeBytes { BlobStore.digest($0) }.prefix(32))
    }

    /// The stored report of a composition (`files` empty, `seconds` 0, `cached` true), or nil.
    public func compositionReport(id: String) throws -> ComposeResult? {
        guard let json = try catalog.read({ connection in try connection.fetchValue("SELECT report FROM composition WHERE id = ?", [id], as: String.self) }) else {
            return nil
        }
        var report = try JSONDecoder().decode(ComposeResult.self, from: Data(json.utf8))
        report.cached = true
        return report
    }
}

extension ConceptReference {
    /// Checks a concept, alias or token name (printable, no `@`, no `/`, not empty): for callers
    /// outside the registry, such as the service, before a name touches the store.
    public static func checkName(_ name: String, kind: String) throws { try validate(name: name, kind: kind) }
}

/// The per-process digests of stored Σ rows (`Store.sigmaDigest`). `@unchecked Sendable`: the
/// dictionary is only touched under the lock.
final class SigmaDigests: @unchecked Sendable {
    static let shared = SigmaDigests()
    private let lock = NSLock()
    private var digests: [String: String] = [:]

    func get(_ key: String) -> String? { lock.withLock { digests[key] } }
    func set(_ key: String, _ digest: String) { lock.withLock { digests[key] = digest } }
}
