import Foundation

/// One result row of a catalog query: column names (as the query spelled them, lower-cased by
/// PostgreSQL for unquoted aliases — write aliases in lower case) and their values.
public struct CatalogRow: Sendable {
    public let columns: [String]
    public let values: [CatalogValue]

    public init(columns: [String], values: [CatalogValue]) {
        precondition(columns.count == values.count, "a catalog row has one value per column")
        self.columns = columns
        self.values = values
    }

    /// The raw value of `column`, or `nil` when the query has no such column.
    public subscript(column: String) -> CatalogValue? {
        columns.firstIndex(of: column).map { values[$0] }
    }

    /// The value of `column` as `T`; a missing column or a value of another type is a typed error
    /// (a schema/query mismatch, never a crash).
    public func value<T: CatalogValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let raw = self[column] else { throw CatalogError.missingColumn(column, in: columns) }
        guard let value = T(catalogValue: raw) else {
            throw CatalogError.typeMismatch(column: column, expected: String(describing: T.self), found: raw)
        }
        return value
    }

    /// The first column's value (for `SELECT COUNT(*)`, `SELECT MAX(version)` and the like).
    public func first<T: CatalogValueConvertible>(as type: T.Type = T.self) throws -> T {
        guard let name = columns.first else { throw CatalogError.missingColumn("(first)", in: columns) }
        return try value(name, as: type)
    }
}
