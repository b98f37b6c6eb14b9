
/// A concept version a reference resolved to.
public struct ResolvedVersion: Sendable, Hashable {
    public let conceptID: Int64
    public let versionID: Int64
    public let name: String
    public let version: Int
    public let baseID: Int64
    public let baseName: String
}

extension Store {
    /// Resolves `NAME`, `NAME@N` or `NAME@ALIAS` to a stored version.
    public func resolve(_ reference: ConceptReference) throws -> ResolvedVersion {
        try catalog.read { connection in try Self.resolve(reference, in: connection) }
    }

    static func resolve(_ reference: ConceptReference, in connection: any CatalogConnection) throws -> ResolvedVersion {
        guard let concept = try connection.fetchOne("""
            SELECT c.id, c.base_id, b.name AS base_name FROM concept c JOIN base_model b ON b.id = c.base_id WHERE c.name = ?
            """, [reference.name])
        else { throw RegistryError.unknownConcept(reference.name) }
        let conceptID: Int64 = try concept.value("id")
        let row: CatalogRow?
        switch reference.selector {
        case .latest:
            row = try connection.fetchOne("SELECT id, version FROM concept_version WHERE concept_id = ? ORDER BY version DESC LIMIT 1", [conceptID])
        case .version(let n):
            row = try connection.fetchOne("SELECT id, version FROM concept_version WHERE concept_id = ? AND version = ?", [conceptID, n])
            if row == nil { throw RegistryError.unknownVersion(name: reference.name, version: n) }
        case .alias(let alias):
            row = try connection.fetchOne("""
                SELECT v.id, v.version FROM alias a JOIN concept_version v ON v.id = a.version_id
                WHERE a.concept_id = ? AND a.alias = ?
                """, [conceptID, alias])
            if row == nil { throw RegistryError.unknownAlias(name: reference.name, alias: alias) }
        }
        guard let row else { throw RegistryError.unknownConcept(reference.name) }
        return ResolvedVersion(conceptID: conceptID, versionID: try row.value("id"), name: reference.name, version: try row.value("version"),
                               baseID: try concept.value("base_id"), baseName: try concept.value("base_name"))
    }
}
