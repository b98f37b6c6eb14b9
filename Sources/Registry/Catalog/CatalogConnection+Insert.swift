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
        if let problem = encoder.storage.problem {
            throw CatalogError.typeMismatch(column: problem, expected: "one value per column", found: .null)
        }
        guard !encoder.storage.columns.isEmpty else {
            throw CatalogError.typeMismatch(column: table, expected: "a record with at least one column", found: .null)
        }
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
        /// The first property that is not a single column value (an array or nested record).
        var problem: String?
    }
    let storage = Storage()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Container<Key>(storage: storage))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { Unsupported(storage: storage, name: "(record)") }
    func singleValueContainer() -> any SingleValueEncodingContainer {
        storage.problem = storage.problem ?? "(record)"
        return ValueEncoder()
    }

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
                if single.unsupported { storage.problem = storage.problem ?? key.stringValue }
                append(single.value ?? .null, key)
            }
        }

        private func append(_ value: CatalogValue, _ key: Key) {
            storage.columns.append(catalogColumnName(key.stringValue))
            storage.values.append(value)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            storage.problem = storage.problem ?? key.stringValue
            return KeyedEncodingContainer(Container<NestedKey>(storage: Storage()))
        }
        func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { Unsupported(storage: storage, name: key.stringValue) }
        func superEncoder() -> any Encoder { CatalogRowEncoder() }
        func superEncoder(forKey key: Key) -> any Encoder { CatalogRowEncoder() }
    }

    /// Arrays have no column: using one records the problem, which `insert` reports.
    struct Unsupported: UnkeyedEncodingContainer {
        let storage: Storage
        let name: String
        var codingPath: [any CodingKey] { [] }
        var count: Int { 0 }
        init(storage: Storage, name: String) {
            self.storage = storage
            self.name = name
            storage.problem = storage.problem ?? name
        }
        mutating func encodeNil() throws {}
        mutating func encode<T: Encodable>(_ value: T) throws {}
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Container<NestedKey>(storage: Storage()))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { Unsupported(storage: storage, name: name) }
        mutating func superEncoder() -> any Encoder { CatalogRowEncoder() }
    }
}

/// One value, for types that encode themselves as a single value (`RawRepresentable` enums).
private final class ValueEncoder: Encoder, SingleValueEncodingContainer {
    var value: CatalogValue?
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Set when the value is not a single column value (a nested record or an array).
    var unsupported = false

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        unsupported = true
        return KeyedEncodingContainer(CatalogRowEncoder.Container<Key>(storage: CatalogRowEncoder.Storage()))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        unsupported = true
        return CatalogRowEncoder.Unsupported(storage: CatalogRowEncoder.Storage(), name: "")
    }
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
