/// Arguments as Swift values (`[name, versionID, description]`): the same calls as the protocol's,
/// with each argument converted through `CatalogValueConvertible` (an optional `nil` binds NULL).
extension CatalogConnection {
    /// Runs a statement without arguments.
    @discardableResult
    public func execute(_ sql: String) throws -> Int {
        try execute(sql, [CatalogValue]())
    }

    /// Runs a query without arguments.
    public func fetchAll(_ sql: String) throws -> [CatalogRow] {
        try fetchAll(sql, [CatalogValue]())
    }

    @discardableResult
    public func execute(_ sql: String, _ arguments: [any CatalogValueConvertible]) throws -> Int {
        try execute(sql, arguments.map(\.catalogValue))
    }

    public func fetchAll(_ sql: String, _ arguments: [any CatalogValueConvertible]) throws -> [CatalogRow] {
        try fetchAll(sql, arguments.map(\.catalogValue))
    }

    public func fetchOne(_ sql: String, _ arguments: [any CatalogValueConvertible]) throws -> CatalogRow? {
        try fetchOne(sql, arguments.map(\.catalogValue))
    }

    public func fetchValue<T: CatalogValueConvertible>(_ sql: String, _ arguments: [any CatalogValueConvertible], as type: T.Type = T.self) throws -> T? {
        try fetchValue(sql, arguments.map(\.catalogValue), as: type)
    }

    public func fetchColumn<T: CatalogValueConvertible>(_ sql: String, _ arguments: [any CatalogValueConvertible], as type: T.Type = T.self) throws -> [T] {
        try fetchColumn(sql, arguments.map(\.catalogValue), as: type)
    }

    public func fetchAll<T: Decodable>(_ type: T.Type, _ sql: String, _ arguments: [any CatalogValueConvertible]) throws -> [T] {
        try fetchAll(type, sql, arguments.map(\.catalogValue))
    }

    public func fetchOne<T: Decodable>(_ type: T.Type, _ sql: String, _ arguments: [any CatalogValueConvertible]) throws -> T? {
        try fetchOne(type, sql, arguments.map(\.catalogValue))
    }

    public func exists(_ sql: String, _ arguments: [any CatalogValueConvertible]) throws -> Bool {
        try exists(sql, arguments.map(\.catalogValue))
    }

    public func forEachRow(_ sql: String, _ arguments: [any CatalogValueConvertible], _ body: (CatalogRow) throws -> Void) throws {
        try forEachRow(sql, arguments.map(\.catalogValue), body)
    }

    public func insertReturningID(_ sql: String, _ arguments: [any CatalogValueConvertible]) throws -> Int64? {
        try insertReturningID(sql, arguments.map(\.catalogValue))
    }
}

extension CatalogStatement {
    @discardableResult
    public func execute(_ arguments: [any CatalogValueConvertible]) throws -> Int {
        try execute(arguments.map(\.catalogValue))
    }

    public func insertReturningID(_ arguments: [any CatalogValueConvertible]) throws -> Int64? {
        try insertReturningID(arguments.map(\.catalogValue))
    }
}
