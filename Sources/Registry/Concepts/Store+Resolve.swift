import GRDB

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
        try database.read { db in try Self.resolve(reference, in: db) }
    }

    static func resolve(_ reference: ConceptReference, in db: Database) throws -> ResolvedVersion {
        guard let concept = try Row.fetchOne(db, sql: """
            SELECT c.id, c.base_id, b.name AS base_name FROM concept c JOIN base_model b ON b.id = c.base_id WHERE c.name = ?
            """, arguments: [reference.name])
        else { throw RegistryError.unknownConcept(reference.name) }
        let conceptID: Int64 = concept["id"]
        let row: Row?
        switch reference.selector {
        case .latest:
            row = try Row.fetchOne(db, sql: "SELECT id, version FROM concept_version WHERE concept_id = ? ORDER BY version DESC LIMIT 1",
                                   arguments: [conceptID])
        case .version(let n):
            row = try Row.fetchOne(db, sql: "SELECT id, version FROM concept_version WHERE concept_id = ? AND version = ?",
                                   arguments: [conceptID, n])
            if row == nil { throw RegistryError.unknownVersion(name: reference.name, version: n) }
        case .alias(let alias):
            row = try Row.fetchOne(db, sql: """
                SELECT v.id, v.version FROM alias a JOIN concept_version v ON v.id = a.version_id
                WHERE a.concept_id = ? AND a.alias = ?
                """, arguments: [conceptID, alias])
            if row == nil { throw RegistryError.unknownAlias(name: reference.name, alias: alias) }
        }
        guard let row else { throw RegistryError.unknownConcept(reference.name) }
        return ResolvedVersion(conceptID: conceptID, versionID: row["id"], name: reference.name, version: row["version"],
                               baseID: concept["base_id"], baseName: concept["base_name"])
    }
}
