import Foundation
import GRDB

extension Store {
    // MARK: list

    /// `concepts list`: concepts with their latest version, filtered; `search` is an FTS5 query over
    /// names, descriptions, categories, tokens and tags (words are matched as prefixes).
    public func listConcepts(_ filter: ConceptFilter = ConceptFilter()) throws -> [ConceptSummary] {
        try database.read { db in
            var sql = """
                SELECT c.id, c.name, b.name AS base, MAX(v.version) AS latest, (
                    SELECT v2.id FROM concept_version v2 WHERE v2.concept_id = c.id ORDER BY v2.version DESC LIMIT 1) AS latest_id
                FROM concept c JOIN base_model b ON b.id = c.base_id JOIN concept_version v ON v.concept_id = c.id
                WHERE 1
                """
            var arguments: StatementArguments = []
            if let base = filter.base {
                sql += " AND b.name = ?"
                _ = arguments.append(contentsOf: [base])
            }
            if let tag = filter.tag {
                sql += " AND EXISTS (SELECT 1 FROM alias a WHERE a.concept_id = c.id AND a.alias = ?)"
                _ = arguments.append(contentsOf: [tag])
            }
            if let search = filter.search {
                sql += " AND c.id IN (SELECT rowid FROM concept_search WHERE concept_search MATCH ?)"
                _ = arguments.append(contentsOf: [Self.ftsQuery(search)])
            }
            sql += " GROUP BY c.id ORDER BY c.name"
            var results: [ConceptSummary] = []
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                let tokens = try Self.tokens(versionID: row["latest_id"], in: db)
                if let category = filter.category, !tokens.contains(where: { $0.category == category }) { continue }
                results.append(ConceptSummary(name: row["name"], latestVersion: row["latest"], base: row["base"], tokens: tokens,
                                              tags: try Self.aliases(conceptID: row["id"], in: db)))
            }
            return results
        }
    }

    /// Turns free text into an FTS5 query: each word quoted (so punctuation such as `<new1>` is
    /// literal) and matched as a prefix; all words must match.
    static func ftsQuery(_ text: String) -> String {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map { word -> String in
            let tokenised = word.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : " " }
            return String(tokenised).split(separator: " ").map { "\"\($0)\"*" }.joined(separator: " ")
        }.filter { !$0.isEmpty }
        return words.isEmpty ? "\"\"" : words.joined(separator: " ")
    }

    // MARK: show

    /// `concepts show REF`.
    public func details(_ reference: ConceptReference) throws -> VersionDetails {
        try database.read { db in
            let resolved = try Self.resolve(reference, in: db)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM concept_version WHERE id = ?", arguments: [resolved.versionID])
            else { throw RegistryError.unknownVersion(name: resolved.name, version: resolved.version) }
            let layers = try Row.fetchAll(db, sql: """
                SELECT l.layer, l.projection, l.rank, l.relative_error FROM version_layer l
                LEFT JOIN base_layer bl ON bl.base_id = ? AND bl.name = l.layer
                WHERE l.version_id = ? ORDER BY bl.position, l.projection
                """, arguments: [resolved.baseID, resolved.versionID]).map {
                LayerInfo(name: "\($0["layer"] as String).\($0["projection"] as String)", rank: $0["rank"], relativeError: $0["relative_error"])
            }
            let sources = try Row.fetchAll(db, sql: "SELECT path, sha256 FROM version_source WHERE version_id = ? ORDER BY path",
                                           arguments: [resolved.versionID]).map { SourceFileInfo(path: $0["path"], sha256: $0["sha256"]) }
            let tags = try String.fetchAll(db, sql: "SELECT alias FROM alias WHERE version_id = ? ORDER BY alias", arguments: [resolved.versionID])
            return VersionDetails(
                name: resolved.name, version: resolved.version, base: resolved.baseName,
                tokens: try Self.tokens(versionID: resolved.versionID, in: db),
                kind: row["kind"], description: row["description"], tags: tags, createdAt: row["created_at"],
                parentVersion: row["parent_version"], source: sources, sourceFormat: row["source_format"],
                compression: CompressionInfo(policy: row["compression_policy"], maxRelativeError: row["max_relative_error"]),
                layers: layers, storedBytes: row["stored_bytes"])
        }
    }

    // MARK: versions

    /// `concepts versions NAME`, oldest first.
    public func versions(of name: String) throws -> [VersionSummary] {
        try database.read { db in
            guard let conceptID = try Int64.fetchOne(db, sql: "SELECT id FROM concept WHERE name = ?", arguments: [name])
            else { throw RegistryError.unknownConcept(name) }
            let latest = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM concept_version WHERE concept_id = ?", arguments: [conceptID])
            return try Row.fetchAll(db, sql: "SELECT id, version, created_at, stored_bytes FROM concept_version WHERE concept_id = ? ORDER BY version",
                                    arguments: [conceptID]).map { row in
                var aliases = try String.fetchAll(db, sql: "SELECT alias FROM alias WHERE version_id = ? ORDER BY alias", arguments: [row["id"] as Int64])
                if row["version"] as Int == latest { aliases.insert("latest", at: 0) }
                return VersionSummary(version: row["version"], createdAt: row["created_at"], aliases: aliases, storedBytes: row["stored_bytes"])
            }
        }
    }

    // MARK: tag / untag

    /// Points `alias` at the referenced version (moving it if it pointed elsewhere).
    public func tag(_ reference: ConceptReference, alias: String) throws -> AliasResult {
        try ConceptReference.validate(name: alias, kind: "alias")
        guard alias != "latest", Int(alias) == nil else {
            throw RegistryError.invalidName(kind: "alias", name: alias, reason: "'latest' and numbers are reserved")
        }
        return try database.write { db in
            let resolved = try Self.resolve(reference, in: db)
            try db.execute(sql: """
                INSERT INTO alias (concept_id, alias, version_id) VALUES (?, ?, ?)
                ON CONFLICT(concept_id, alias) DO UPDATE SET version_id = excluded.version_id
                """, arguments: [resolved.conceptID, alias, resolved.versionID])
            try Self.refreshSearchIndex(conceptID: resolved.conceptID, in: db)
            return AliasResult(name: resolved.name, version: resolved.version, alias: alias)
        }
    }

    /// Removes `alias` from concept `name`.
    public func untag(name: String, alias: String) throws -> AliasResult {
        try database.write { db in
            let resolved = try Self.resolve(ConceptReference(name: name, selector: .alias(alias)), in: db)
            try db.execute(sql: "DELETE FROM alias WHERE concept_id = ? AND alias = ?", arguments: [resolved.conceptID, alias])
            try Self.refreshSearchIndex(conceptID: resolved.conceptID, in: db)
            return AliasResult(name: resolved.name, version: resolved.version, alias: alias)
        }
    }

    // MARK: Shared pieces

    static func tokens(versionID: Int64, in db: Database) throws -> [TokenInfo] {
        try Row.fetchAll(db, sql: "SELECT token, category FROM version_token WHERE version_id = ? ORDER BY position", arguments: [versionID])
            .map { TokenInfo(token: $0["token"], category: $0["category"]) }
    }

    static func aliases(conceptID: Int64, in db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT alias FROM alias WHERE concept_id = ? ORDER BY alias", arguments: [conceptID])
    }

    /// Rewrites the concept's FTS row from its name, its versions' descriptions, categories and tokens, and its aliases.
    static func refreshSearchIndex(conceptID: Int64, in db: Database) throws {
        let name = try String.fetchOne(db, sql: "SELECT name FROM concept WHERE id = ?", arguments: [conceptID]) ?? ""
        let descriptions = try String.fetchAll(db, sql: "SELECT description FROM concept_version WHERE concept_id = ?", arguments: [conceptID])
        let tokenRows = try Row.fetchAll(db, sql: """
            SELECT DISTINCT t.token, t.category FROM version_token t JOIN concept_version v ON v.id = t.version_id WHERE v.concept_id = ?
            """, arguments: [conceptID])
        let tags = try aliases(conceptID: conceptID, in: db)
        try db.execute(sql: "DELETE FROM concept_search WHERE rowid = ?", arguments: [conceptID])
        try db.execute(sql: "INSERT INTO concept_search (rowid, name, description, categories, tokens, tags) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [conceptID, name, descriptions.joined(separator: "\n"),
                                   tokenRows.map { $0["category"] as String }.joined(separator: " "),
                                   tokenRows.map { $0["token"] as String }.joined(separator: " "), tags.joined(separator: " ")])
    }
}
