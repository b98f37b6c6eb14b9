import CustomDiffusion
import Foundation
import GRDB

extension Store {
    /// The id `compose` gives (or gave) the composition of `references` with `regset`, computed
    /// without solving or exporting: the hash of (solver version, base, regset, Σ, versions in order).
    /// Lets the service answer a cached composition from the catalog alone.
    public func compositionID(references: [String], regset: String?) throws -> String {
        let resolved = try references.map { try resolve(ConceptReference(parsing: $0)) }
        guard let base = resolved.first else { throw RegistryError.invalidReference("compose needs at least one concept") }
        let (sigma, _) = try regularizationGram(set: regset, base: base.baseName)
        let sigmaSHA = RegularizationFeatures.encode(sigma).withUnsafeBytes { BlobStore.digest($0) }
        return Self.compositionID(baseID: base.baseID, regset: regset ?? DefaultRegularizationCaptions.name, sigmaSHA256: sigmaSHA,
                                  versionIDs: resolved.map(\.versionID))
    }

    /// The cache key of a composition (see `compose`).
    static func compositionID(baseID: Int64, regset: String, sigmaSHA256: String, versionIDs: [Int64]) -> String {
        let key = ([Self.solverVersion, String(baseID), regset, sigmaSHA256] + versionIDs.map { String($0) }).joined(separator: "|")
        return String(Data(key.utf8).withUnsafeBytes { BlobStore.digest($0) }.prefix(32))
    }

    /// The stored report of a composition (`files` empty, `seconds` 0, `cached` true), or nil.
    public func compositionReport(id: String) throws -> ComposeResult? {
        guard let json = try database.read({ db in try String.fetchOne(db, sql: "SELECT report FROM composition WHERE id = ?", arguments: [id]) }) else {
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
