import Foundation

/// Typed inserts: an `Encodable` record becomes `INSERT INTO table (columns) VALUES (?, …)` with its
/// properties as columns (`camelCase` → `snake_case`, as `CatalogRow.decode` reads them; a `nil`
/// optional is left out, so the column takes its default).
extension CatalogConnection {
    /// Inserts `record` into `table`; `conflict` is appended (e.g. `ON CONFLICT (sha256) DO NOTHING`).
    /// Returns how many rows changed.
    @discardableResult
    public func insert<T: Encodable>(_ record: T, into table: String, _ conflict: String = "") throws -> Int {
        let (sql, values) = try Self.insertStatement(record, into: table, conflict)
        return try execute(sql, values)
    }

    /// Inserts `record` and returns the new row's `id` (nil when `conflict` skipped it).
    public func insertReturningID<T: Encodable>(_ record: T, into table: String, _ conflict: String = "") throws -> Int64? {
        let (sql, values) = try Self.insertStatement(record, into: table, conflict)
        return try insertReturningID(sql, values)
    }

    static func insertStatement<T: Encodable>(_ record: T, into table: String, _ conflict: String) throws -> (String, [CatalogValue]) {
        let encoder = CatalogRowEncoder()
        try record.encode(to: encoder)
        let columns = encoder.storage.columns
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        var sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
        if !conflict.isEmpty { sql += " " + conflict }
        return (sql, encoder.storage.values)
    }
}

private final class CatalogRowEncoder: Encoder {
    final class Storage {
        var columns: [String] = []
        var values: [CatalogValue] = []
    }
    let storage = Storage()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Container<Key>(storage: storage))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { preconditionFailure("catalog records are keyed by column") }
    func singleValueContainer() -> any SingleValueEncodingContainer { preconditionFailure("catalog records are keyed by column") }

    struct Container<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: Storage
        var codingPath: [any CodingKey] { [] }

        func encodeNil(forKey key: Key) throws { append(.null, key) }

        func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            if let convertible = value as? any CatalogValueConvertible {
                append(convertible.catalogValue, key)
            } else {
                let single = ValueEncoder()
                try value.encode(to: single)
                append(single.value ?? .null, key)
            }
        }

        private func append(_ value: CatalogValue, _ key: Key) {
            storage.columns.append(catalogColumnName(key.stringValue))
            storage.values.append(value)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            preconditionFailure("catalog records have no nested records")
        }
        func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { preconditionFailure("catalog records have no arrays") }
        func superEncoder() -> any Encoder { CatalogRowEncoder() }
        func superEncoder(forKey key: Key) -> any Encoder { CatalogRowEncoder() }
    }
}

/// One value, for types that encode themselves as a single value (`RawRepresentable` enums).
private final class ValueEncoder: Encoder, SingleValueEncodingContainer {
    var value: CatalogValue?
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> { preconditionFailure("a column holds one value") }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { preconditionFailure("a column holds one value") }
    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() throws { value = .null }
    func encode<T: Encodable>(_ value: T) throws {
        if let convertible = value as? any CatalogValueConvertible {
            self.value = convertible.catalogValue
        } else {
            try value.encode(to: self)
        }
    }
}
