import Foundation

/// What the catalog (SQLite or PostgreSQL) refused or failed at, with the context to act on it.
public enum CatalogError: Error, LocalizedError, Equatable {
    /// The engine rejected a statement or the connection failed: `engine` is "sqlite" or "postgres",
    /// `location` the file or URL (without password), `reason` the engine's own message.
    case engine(engine: String, location: String, reason: String)
    case missingColumn(String, in: [String])
    case typeMismatch(column: String, expected: String, found: CatalogValue)
    /// A catalog URL that names no supported backend or cannot be parsed.
    case invalidLocation(String, reason: String)
    /// The catalog's schema is newer than this program (a newer `concepts` migrated it).
    case schemaTooNew(location: String, applied: String)

    public var errorDescription: String? {
        switch self {
        case .engine(let engine, let location, let reason): "catalog (\(engine), \(location)): \(reason)"
        case .missingColumn(let column, let columns): "catalog: no column '\(column)' in the result (\(columns.joined(separator: ", ")))"
        case .typeMismatch(let column, let expected, let found): "catalog: column '\(column)' holds \(found), expected \(expected)"
        case .invalidLocation(let location, let reason): "catalog location '\(location)': \(reason)"
        case .schemaTooNew(let location, let applied):
            "catalog \(location) has migration \(applied), which this version of concepts does not know: upgrade concepts"
        }
    }
}
