import Foundation

/// Typed rows (issue 14 §3): a `Decodable` record type per table, decoded from a `CatalogRow` by
/// column name. Swift property names map to columns as `camelCase` → `snake_case` (`versionID` →
/// `version_id`, `upBlob` → `up_blob`), so records need no `CodingKeys`; an optional property whose
/// column the query did not select decodes as `nil`. Engine-neutral on purpose: the same records are
/// read from SQLite and PostgreSQL (GRDB's `FetchableRecord` would tie them to one engine).
extension CatalogRow {
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try T(from: CatalogRowDecoder(row: self))
    }
}

extension CatalogConnection {
    /// Every row of the query as a `T`.
    public func fetchAll<T: Decodable>(_ type: T.Type, _ sql: String, _ arguments: [CatalogValue] = []) throws -> [T] {
        try fetchAll(sql, arguments).map { try $0.decode(T.self) }
    }

    /// The first row of the query as a `T`, or `nil`.
    public func fetchOne<T: Decodable>(_ type: T.Type, _ sql: String, _ arguments: [CatalogValue] = []) throws -> T? {
        try fetchOne(sql, arguments).map { try $0.decode(T.self) }
    }

    /// Whether the query returns a row.
    public func exists(_ sql: String, _ arguments: [CatalogValue] = []) throws -> Bool {
        try fetchOne(sql, arguments) != nil
    }
}

/// `versionID` → `version_id`, `patchIndexBlob` → `patch_index_blob`, `sha256` → `sha256`.
func catalogColumnName(_ key: String) -> String {
    var out = ""
    var previous: Character?
    for character in key {
        if character.isUppercase, let previous, previous.isLowercase || previous.isNumber { out.append("_") }
        out.append(contentsOf: character.lowercased())
        previous = character
    }
    return out
}

private struct CatalogRowDecoder: Decoder {
    let row: CatalogRow
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "a catalog row is keyed by column"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "a catalog row is keyed by column"))
    }

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: CatalogRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.columns.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { row[catalogColumnName(key.stringValue)] != nil }

        func decodeNil(forKey key: Key) throws -> Bool { row[catalogColumnName(key.stringValue)] == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let column = catalogColumnName(key.stringValue)
            if let convertible = T.self as? any CatalogValueConvertible.Type {
                // swiftlint:disable:next force_cast
                guard let value = try row.value(column, as: convertible) as? T else {
                    throw CatalogError.typeMismatch(column: column, expected: String(describing: T.self), found: row[column] ?? .null)
                }
                return value
            }
            guard let raw = row[column] else { throw CatalogError.missingColumn(column, in: row.columns) }
            return try T(from: ValueDecoder(value: raw, column: column))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw CatalogError.typeMismatch(column: catalogColumnName(key.stringValue), expected: "a nested record", found: .null)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw CatalogError.typeMismatch(column: catalogColumnName(key.stringValue), expected: "an array", found: .null)
        }

        func superDecoder() throws -> any Decoder { CatalogRowDecoder(row: row) }
        func superDecoder(forKey key: Key) throws -> any Decoder { CatalogRowDecoder(row: row) }
    }
}

extension CatalogRow {
    fileprivate func value(_ column: String, as type: any CatalogValueConvertible.Type) throws -> any CatalogValueConvertible {
        guard let raw = self[column] else { throw CatalogError.missingColumn(column, in: columns) }
        guard let value = type.init(catalogValue: raw) else {
            throw CatalogError.typeMismatch(column: column, expected: String(describing: type), found: raw)
        }
        return value
    }
}

/// One column's value, for types that decode themselves from a single value (`RawRepresentable` enums).
private struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: CatalogValue
    let column: String
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw CatalogError.typeMismatch(column: column, expected: "a nested record", found: value)
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw CatalogError.typeMismatch(column: column, expected: "an array", found: value)
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let convertible = T.self as? any CatalogValueConvertible.Type, let decoded = convertible.init(catalogValue: value) as? T {
            return decoded
        }
        if T.self is any CatalogValueConvertible.Type {
            throw CatalogError.typeMismatch(column: column, expected: String(describing: T.self), found: value)
        }
        return try T(from: self)
    }
}
