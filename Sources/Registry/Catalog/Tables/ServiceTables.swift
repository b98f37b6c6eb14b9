/// Rows of the service tables (schema/migrations/0004_service.sql).

/// `api_token`: a bearer token, kept as its SHA-256 only.
struct APITokenRecord: Codable, Sendable {
    var name: String
    var scope: String
    var sha256: String
    var createdAt: String
    var lastUsedAt: String?
}

/// `export_file`: one file of an export made for the service.
struct ExportFileRecord: Codable, Sendable {
    var owner: String
    var format: String
    var path: String
    var blob: String
    var size: Int
    var createdAt: String
}
