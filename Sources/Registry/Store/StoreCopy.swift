import Foundation

/// `concepts store copy` (issue 12), the catalog half: every row of one catalog into another
/// (SQLite → PostgreSQL, PostgreSQL → SQLite, or the same engine twice), ids preserved. The blobs
/// the rows name are copied separately, before the rows (the blob store's own copy).
///
/// - Order: tables in foreign-key order (`tables`), so every reference exists when its row lands.
/// - Resumable: rows go in with `INSERT … ON CONFLICT DO NOTHING` in batches, each batch its own
///   transaction; after an interruption, running the copy again skips the rows already there and
///   adds the rest.
/// - Identity: PostgreSQL's identity sequences are moved past the copied ids (`setval`), so the next
///   registration does not collide with a copied id.
/// - Complete: a source table the copy does not know (added by a newer migration) stops it with an
///   error rather than leaving it behind; `verify` compares the row counts afterwards.
/// - Search: `concept_search` rows are copied (delete + insert by rowid: FTS5 tables have no
///   ON CONFLICT); the caption search fills itself (SQLite's triggers, PostgreSQL's generated column).
public enum StoreCopy {
    /// One catalog table: its columns in the shared schema (PostgreSQL's generated search columns
    /// are not among them) and whether `id` is an identity column.
    public struct Table: Sendable {
        public let name: String
        public let columns: [String]
        public let hasIdentity: Bool
    }

    /// The catalog's tables in foreign-key order (schema/migrations 0001–0004).
    public static let tables: [Table] = [
        Table(name: "blob", columns: ["sha256", "size", "stored_size"], hasIdentity: false),
        Table(name: "base_model", columns: ["id", "name", "architecture", "source_path", "source_format", "context_dim", "bytes_total", "bytes_new", "created_at"], hasIdentity: true),
        Table(name: "base_tensor", columns: ["base_id", "component", "name", "dtype", "shape", "blob"], hasIdentity: false),
        Table(name: "base_file", columns: ["base_id", "path", "blob"], hasIdentity: false),
        Table(name: "base_layer", columns: ["base_id", "position", "name", "out_features", "in_features", "key_tensor", "value_tensor"], hasIdentity: false),
        Table(name: "concept", columns: ["id", "name", "base_id", "created_at"], hasIdentity: true),
        Table(name: "concept_version", columns: ["id", "concept_id", "version", "parent_version", "kind", "description", "source_format", "compression_policy", "max_relative_error", "stored_bytes", "created_at"], hasIdentity: true),
        Table(name: "version_token", columns: ["version_id", "position", "token", "category", "embedding_blob", "dimension"], hasIdentity: false),
        Table(name: "version_layer", columns: ["version_id", "layer", "projection", "storage", "dtype", "out_features", "in_features", "rank", "relative_error", "up_blob", "down_blob", "patch_index_blob", "patch_value_blob", "patch_count"], hasIdentity: false),
        Table(name: "version_source", columns: ["version_id", "path", "sha256"], hasIdentity: false),
        Table(name: "alias", columns: ["concept_id", "alias", "version_id"], hasIdentity: false),
        Table(name: "concept_search", columns: ["rowid", "name", "description", "categories", "tokens", "tags"], hasIdentity: false),
        Table(name: "caption_encoder", columns: ["id", "name", "source_path", "hidden_size", "projection_dim", "created_at"], hasIdentity: true),
        Table(name: "caption_encoder_file", columns: ["encoder_id", "path", "blob"], hasIdentity: false),
        Table(name: "caption_set", columns: ["id", "name", "dimension", "encoder", "revision", "created_at"], hasIdentity: true),
        Table(name: "caption", columns: ["id", "set_id", "caption", "url", "path", "embedding"], hasIdentity: true),
        Table(name: "regset", columns: ["id", "name", "source", "created_at"], hasIdentity: true),
        Table(name: "regset_caption", columns: ["regset_id", "position", "caption", "url", "path", "similarity"], hasIdentity: false),
        Table(name: "regset_gram", columns: ["regset_id", "base_id", "dimension", "feature_rows", "gram", "created_at"], hasIdentity: false),
        Table(name: "merge_key", columns: ["version_id", "rows", "dimension", "features_blob", "prefix_keys", "row_tokens", "created_at"], hasIdentity: false),
        Table(name: "merge_key_layer", columns: ["version_id", "layer", "projection", "out_features", "target_blob", "base_blob"], hasIdentity: false),
        Table(name: "compose_basis", columns: ["base_id", "regset", "sigma_sha256", "dimension", "rank", "eigenvectors_blob", "eigenvalues_blob", "base_energy", "created_at"], hasIdentity: false),
        Table(name: "composition", columns: ["id", "base_id", "regset", "report", "created_at"], hasIdentity: false),
        Table(name: "composition_version", columns: ["composition_id", "position", "version_id"], hasIdentity: false),
        Table(name: "composition_layer", columns: ["composition_id", "layer", "projection", "rank", "up_blob", "down_blob"], hasIdentity: false),
        Table(name: "composition_token", columns: ["composition_id", "position", "reference", "token", "embedding_blob"], hasIdentity: false),
        Table(name: "api_token", columns: ["name", "scope", "sha256", "created_at", "last_used_at"], hasIdentity: false),
        Table(name: "export_file", columns: ["owner", "format", "path", "blob", "size", "created_at"], hasIdentity: false),
    ]

    /// Tables of an engine's own that are not catalog data: migration records, FTS5 internals and
    /// the caption index FTS5 keeps (rebuilt from `caption` by triggers).
    static let engineTables: Set<String> = [
        "grdb_migrations", "schema_migration", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4", "caption_search",
    ]

    /// What one table's copy did.
    public struct TableReport: Sendable, Equatable {
        public let table: String
        /// Rows read from the source.
        public var sourceRows: Int
        /// Rows the destination did not have and now has.
        public var inserted: Int
    }

    public enum Failure: Error, LocalizedError, Equatable {
        case unknownTables([String], location: String)
        case mismatch([String])

        public var errorDescription: String? {
            switch self {
            case .unknownTables(let tables, let location):
                "catalog \(location) has tables this version of concepts cannot copy (\(tables.joined(separator: ", "))): upgrade concepts"
            case .mismatch(let differences):
                "the copied catalog differs from its source: \(differences.joined(separator: "; "))"
            }
        }
    }

    /// Copies every row of `source` into `destination` (migrated first), `batchSize` rows per
    /// destination transaction; `progress(table, rowsSoFar)` after each batch.
    @discardableResult
    public static func copy(from source: any Catalog, to destination: any Catalog, batchSize: Int = 1000,
                            progress: ((String, Int) -> Void)? = nil) throws -> [TableReport] {
        try destination.migrate()
        let unknown = try tableNames(in: source).subtracting(tables.map(\.name)).subtracting(engineTables)
            .filter { !$0.hasPrefix("concept_search_") && !$0.hasPrefix("caption_search_") && !$0.hasPrefix("sqlite_") }
        guard unknown.isEmpty else { throw Failure.unknownTables(unknown.sorted(), location: source.location) }
        var reports: [TableReport] = []
        for table in tables {
            reports.append(try copy(table, from: source, to: destination, batchSize: max(1, batchSize), progress: progress))
        }
        if destination.dialect == .postgres {
            try destination.write { connection in
                for table in tables where table.hasIdentity {
                    // The next id is one past the largest copied (1 for an empty table).
                    try connection.execute("""
                        SELECT setval(pg_get_serial_sequence('\(table.name)', 'id'), COALESCE((SELECT MAX(id) FROM \(table.name)), 0) + 1, false)
                        """)
                }
            }
        }
        return reports
    }

    /// The row count of every table in both catalogs; a difference is `Failure.mismatch`.
    public static func verify(_ source: any Catalog, _ destination: any Catalog) throws {
        let counts = { (catalog: any Catalog) throws -> [Int] in
            try catalog.read { connection in
                try tables.map { try connection.fetchValue("SELECT COUNT(*) FROM \($0.name)", as: Int.self) ?? 0 }
            }
        }
        let (from, to) = (try counts(source), try counts(destination))
        let differences = zip(tables, zip(from, to)).filter { $1.0 != $1.1 }.map { "\($0.name): \($1.0) rows in the source, \($1.1) in the copy" }
        guard differences.isEmpty else { throw Failure.mismatch(differences) }
    }

    private static func copy(_ table: Table, from source: any Catalog, to destination: any Catalog, batchSize: Int,
                             progress: ((String, Int) -> Void)?) throws -> TableReport {
        var report = TableReport(table: table.name, sourceRows: 0, inserted: 0)
        let columns = table.columns.joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
        let isSearch = table.name == "concept_search"
        let insert = isSearch
            ? "INSERT INTO \(table.name) (\(columns)) VALUES (\(placeholders))"
            : "INSERT INTO \(table.name) (\(columns)) VALUES (\(placeholders)) ON CONFLICT DO NOTHING"
        var batch: [[CatalogValue]] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            let rows = batch
            batch.removeAll(keepingCapacity: true)
            report.inserted += try destination.write { connection in
                let statement = try connection.prepare(insert)
                var inserted = 0
                for row in rows {
                    if isSearch {
                        // FTS5 has no ON CONFLICT: replace the row (the same content either way).
                        try connection.execute("DELETE FROM concept_search WHERE rowid = ?", [row[0]])
                    }
                    inserted += try statement.execute(row)
                }
                return inserted
            }
            progress?(table.name, report.sourceRows)
        }
        try source.read { connection in
            try connection.forEachRow("SELECT \(columns) FROM \(table.name) ORDER BY \(orderColumns(table))", [CatalogValue]()) { row in
                batch.append(row.values)
                report.sourceRows += 1
                if batch.count >= batchSize { try flush() }
            }
        }
        try flush()
        return report
    }

    /// A stable order (so that an interrupted copy resumes at the same place): the primary key's
    /// leading columns, which every table starts with.
    private static func orderColumns(_ table: Table) -> String {
        switch table.name {
        case "blob": "sha256"
        case "api_token": "name"
        case "export_file": "owner, format, path"
        case "concept_search": "rowid"
        case "compose_basis": "base_id, regset"
        default: table.columns[0] + (table.columns.count > 1 && !table.hasIdentity ? ", " + table.columns[1] : "")
        }
    }

    /// The tables of a catalog, by its engine's own listing.
    static func tableNames(in catalog: any Catalog) throws -> Set<String> {
        let sql = switch catalog.dialect {
        case .sqlite: "SELECT name FROM sqlite_master WHERE type = 'table'"
        case .postgres: "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
        return Set(try catalog.read { try $0.fetchColumn(sql, as: String.self) })
    }
}
