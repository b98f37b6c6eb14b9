import Foundation

/// A value bound to, or read from, a catalog statement: the five storage classes that SQLite and
/// PostgreSQL both have (`INTEGER`/`bigint`, `REAL`/`double precision`, `TEXT`/`text`, `BLOB`/`bytea`).
public enum CatalogValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// A Swift type stored in one catalog column.
public protocol CatalogValueConvertible: Sendable {
    var catalogValue: CatalogValue { get }
    /// `nil` when the stored value has another type (the caller turns that into a typed error).
    init?(catalogValue: CatalogValue)
}

extension Int64: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .integer(self) }
    public init?(catalogValue: CatalogValue) {
        guard case .integer(let value) = catalogValue else { return nil }
        self = value
    }
}

extension Int: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .integer(Int64(self)) }
    public init?(catalogValue: CatalogValue) {
        guard case .integer(let value) = catalogValue, let int = Int(exactly: value) else { return nil }
        self = int
    }
}

extension Bool: CatalogValueConvertible {
    /// Stored as 0/1 in both dialects (the schemas use integer columns, not PostgreSQL's `boolean`).
    public var catalogValue: CatalogValue { .integer(self ? 1 : 0) }
    public init?(catalogValue: CatalogValue) {
        guard case .integer(let value) = catalogValue else { return nil }
        self = value != 0
    }
}

extension Double: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .real(self) }
    public init?(catalogValue: CatalogValue) {
        switch catalogValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        default: return nil
        }
    }
}

extension String: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .text(self) }
    public init?(catalogValue: CatalogValue) {
        guard case .text(let value) = catalogValue else { return nil }
        self = value
    }
}

extension Data: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .blob(self) }
    public init?(catalogValue: CatalogValue) {
        guard case .blob(let value) = catalogValue else { return nil }
        self = value
    }
}

extension Optional: CatalogValueConvertible where Wrapped: CatalogValueConvertible {
    public var catalogValue: CatalogValue { self?.catalogValue ?? .null }
    public init?(catalogValue: CatalogValue) {
        if case .null = catalogValue {
            self = .none
        } else if let value = Wrapped(catalogValue: catalogValue) {
            self = .some(value)
        } else {
            return nil
        }
    }
}
