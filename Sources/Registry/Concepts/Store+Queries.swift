import Foundation

extension Store {
    // MARK: list

    /// `concepts list`: concepts with their latest version, filtered; `search` is a full-text query
    /// (SQLite FTS5 / PostgreSQL text search) over names, descriptions, categories, tokens and tags
    /// (every word must match, as a prefix).
    public func listConcepts(_ filter: ConceptFilter = ConceptFilter()) throws -> [ConceptSummary] {
        try catalog.read { connection in
            var sql = """
                SELECT c.id, c.name, b.name AS base, MAX(v.version) AS latest, (
                    SELECT v2.id FROM concept_version v2 WHERE v2.concept_id = c.id ORDER BY v2.version DESC LIMIT 1) AS latest_id
                FROM concept c JOIN base_model b ON b.id = c.base_id JOIN concept_version v ON v.concept_id = c.id
                WHERE 1 = 1
                """
            var arguments: [CatalogValue] = []
            if let base = filter.base {
                sql += " AND b.name = ?"
                arguments.append(.text(base))
            }
            if let tag = filter.tag {
                sql += " AND EXISTS (SELECT 1 FROM alias a WHERE a.concept_id = c.id AND a.alias = ?)"
                arguments.append(.text(tag))
            }
            if let search = filter.search {
                switch connection.dialect {
                case .sqlite: sql += " AND c.id IN (SELECT rowid FROM concept_search WHERE concept_search MATCH ?)"
                case .postgres: sql += " AND c.id IN (SELECT rowid FROM concept_search WHERE document @@ to_tsquery('simple', ?))"
                }
                arguments.append(Self.fullTextQuery(search, dialect: connection.dialect).catalogValue)
            }
            sql += " GROUP BY c.id, c.name, b.name ORDER BY c.name"
            var results: [ConceptSummary] = []
            for row in try connection.fetchAll(sql, arguments) {
                let tokens = try Self.tokens(versionID: try row.value("latest_id"), in: connection)
                if let category = filter.category, !tokens.contains(where: { $0.category == category }) { continue }
                results.append(ConceptSummary(name: try row.value("name"), latestVersion: try row.value("latest"), base: try row.value("base"),
                                              tokens: tokens, tags: try Self.aliases(conceptID: try row.value("id"), in: connection)))
            }
            return results
        }
    }

    /// Free text as a full-text query: each word (split at punctuation, so `<new1>` is literal) matched
    /// as a prefix; all words must match. No words: a query that matches nothing.
    static func fullTextQuery(_ text: String, dialect: CatalogDialect) -> String {
        let words = text.split(whereSeparator: { $0.isWhitespace }).flatMap { FullTextQuery.words(String($0)) }
        return FullTextQuery.prefixQuery(words, dialect: dialect) ?? (dialect == .sqlite ? "\"\"" : "''")
    }

    /// How many concepts the catalog holds (the service's health check reads it).
    public func conceptCount() throws -> Int {
        try catalog.read { connection in try connection.fetchValue("SELECT COUNT(*) FROM concept", as: Int.self) ?? 0 }
    }

    // MARK: show

    /// `concepts show REF`.
    public func details(_ reference: ConceptReference) throws -> VersionDetails {
        try catalog.read { connection in
            let resolved = try Self.resolve(reference, in: connection)
            guard let version = try connection.fetchOne(ConceptVersionRecord.self, "SELECT * FROM concept_version WHERE id = ?", [resolved.versionID])
            else { throw RegistryError.unknownVersion(name: resolved.name, version: resolved.version) }
            let layers = try connection.fetchAll("""
                SELECT l.layer, l.projection, l.rank, l.relative_error FROM version_layer l
                LEFT JOIN base_layer bl ON bl.base_id = ? AND bl.name = l.layer
                WHERE l.version_id = ? ORDER BY bl.position, l.projection
                """, [resolved.baseID, resolved.versionID]).map {
                LayerInfo(name: "\(try $0.value("layer", as: String.self)).\(try $0.value("projection", as: String.self))",
                          rank: try $0.value("rank"), relativeError: try $0.value("relative_error"))
            }
            let sources = try connection.fetchAll(VersionSourceRecord.self, "SELECT * FROM version_source WHERE version_id = ? ORDER BY path",
                                                  [resolved.versionID]).map { SourceFileInfo(path: $0.path, sha256: $0.sha256) }
            let tags = try connection.fetchColumn("SELECT alias FROM alias WHERE version_id = ? ORDER BY alias", [resolved.versionID], as: String.self)
            return VersionDetails(
                name: resolved.name, version: resolved.version, base: resolved.baseName,
                tokens: try Self.tokens(versionID: resolved.versionID, in: connection),
                kind: version.kind, description: version.description, tags: tags, createdAt: version.createdAt,
                parentVersion: version.parentVersion, source: sources, sourceFormat: version.sourceFormat,
                compression: CompressionInfo(policy: version.compressionPolicy, maxRelativeError: version.maxRelativeError),
                layers: layers, storedBytes: version.storedBytes)
        }
    }

    // MARK: versions

    /// `concepts versions NAME`, oldest first.
    public func versions(of name: String) throws -> [VersionSummary] {
        try catalog.read { connection in
            guard let conceptID = try connection.fetchValue("SELECT id FROM concept WHERE name = ?", [name], as: Int64.self)
            else { throw RegistryError.unknownConcept(name) }
            let versions = try connection.fetchAll(ConceptVersionRecord.self, "SELECT * FROM concept_version WHERE concept_id = ? ORDER BY version",
                                                   [conceptID])
            let latest = versions.last?.version
            return try versions.map { version in
                var aliases = try connection.fetchColumn("SELECT alias FROM alias WHERE version_id = ? ORDER BY alias", [version.id], as: String.self)
                if version.version == latest { aliases.insert("latest", at: 0) }
                return VersionSummary(version: version.version, createdAt: version.createdAt, aliases: aliases, storedBytes: version.storedBytes)
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
        return try catalog.write { connection in
            let resolved = try Self.resolve(reference, in: connection)
            try connection.insert(AliasRecord(conceptID: resolved.conceptID, alias: alias, versionID: resolved.versionID), into: "alias",
                                  "ON CONFLICT (concept_id, alias) DO UPDATE SET version_id = excluded.version_id")
            try Self.refreshSearchIndex(conceptID: resolved.conceptID, in: connection)
            return AliasResult(name: resolved.name, version: resolved.version, alias: alias)
        }
    }

    /// Removes `alias` from concept `name`.
    public func untag(name: String, alias: String) throws -> AliasResult {
        try catalog.write { connection in
            let resolved = try Self.resolve(ConceptReference(name: name, selector: .alias(alias)), in: connection)
            try connection.execute("DELETE FROM alias WHERE concept_id = ? AND alias = ?", [resolved.conceptID, alias])
            try Self.refreshSearchIndex(conceptID: resolved.conceptID, in: connection)
            return AliasResult(name: resolved.name, version: resolved.version, alias: alias)
        }
    }

    // MARK: Shared pieces

    static func tokens(versionID: Int64, in connection: any CatalogConnection) throws -> [TokenInfo] {
        try connection.fetchAll(VersionTokenRecord.self, "SELECT * FROM version_token WHERE version_id = ? ORDER BY position", [versionID])
            .map { TokenInfo(token: $0.token, category: $0.category) }
    }

    static func aliases(conceptID: Int64, in connection: any CatalogConnection) throws -> [String] {
        try connection.fetchColumn("SELECT alias FROM alias WHERE concept_id = ? ORDER BY alias", [conceptID], as: String.self)
    }

    /// Rewrites the concept's full-text row (`concept_search`, rowid = concept id; FTS5 in SQLite, a
    /// table with a generated `tsvector` in PostgreSQL) from its name, its versions' descriptions,
    /// categories and tokens, and its aliases.
    static func refreshSearchIndex(conceptID: Int64, in connection: any CatalogConnection) throws {
        let name = try connection.fetchValue("SELECT name FROM concept WHERE id = ?", [conceptID], as: String.self) ?? ""
        let descriptions = try connection.fetchColumn("SELECT description FROM concept_version WHERE concept_id = ? ORDER BY version",
                                                      [conceptID], as: String.self)
        let tokenRows = try connection.fetchAll("""
            SELECT DISTINCT t.token, t.category FROM version_token t JOIN concept_version v ON v.id = t.version_id WHERE v.concept_id = ?
            """, [conceptID])
        let tags = try aliases(conceptID: conceptID, in: connection)
        try connection.execute("DELETE FROM concept_search WHERE rowid = ?", [conceptID])
        try connection.execute("INSERT INTO concept_search (rowid, name, description, categories, tokens, tags) VALUES (?, ?, ?, ?, ?, ?)",
                               [conceptID, name, descriptions.joined(separator: "\n"),
                                try tokenRows.map { try $0.value("category", as: String.self) }.joined(separator: " "),
                                try tokenRows.map { try $0.value("token", as: String.self) }.joined(separator: " "), tags.joined(separator: " ")])
    }
}
