import Foundation
import GRDB

/// A `CatalogConnection` over one GRDB `Database` inside a `DatabasePool` transaction.
struct SQLiteConnection: CatalogConnection {
    let db: Database

    var dialect: CatalogDialect { .sqlite }

    @discardableResult
    func execute(_ sql: String, _ arguments: [CatalogValue]) throws -> Int {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func fetchAll(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow] {
        try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map(Self.row)
    }

    func forEachRow(_ sql: String, _ arguments: [CatalogValue], _ body: (CatalogRow) throws -> Void) throws {
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: Self.arguments(arguments))
        while let row = try cursor.next() { try body(Self.row(row)) }
    }

    /// SQLite reports the new rowid and the change count of the last statement: no `RETURNING` needed.
    func insertReturningID(_ sql: String, _ arguments: [CatalogValue]) throws -> Int64? {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
        return db.changesCount == 0 ? nil : db.lastInsertedRowID
    }

    /// A no-op: a SQLite write transaction already holds the database's only write lock.
    func lockForWrite(key: String) throws {}

    func prepare(_ sql: String) throws -> any CatalogStatement {
        SQLiteStatement(db: db, statement: try db.makeStatement(sql: sql))
    }

    // MARK: Values

    static func arguments(_ values: [CatalogValue]) -> StatementArguments {
        StatementArguments(values.map(databaseValue))
    }

    static func databaseValue(_ value: CatalogValue) -> DatabaseValue {
        switch value {
        case .null: .null
        case .integer(let v): v.databaseValue
        case .real(let v): v.databaseValue
        case .text(let v): v.databaseValue
        case .blob(let v): v.databaseValue
        }
    }

    static func row(_ row: Row) -> CatalogRow {
        CatalogRow(columns: Array(row.columnNames), values: row.databaseValues.map { value in
            switch value.storage {
            case .null: .null
            case .int64(let v): .integer(v)
            case .double(let v): .real(v)
            case .string(let v): .text(v)
            case .blob(let v): .blob(v)
            }
        })
    }
}

/// A GRDB prepared statement behind the seam.
struct SQLiteStatement: CatalogStatement {
    let db: Database
    let statement: Statement

    @discardableResult
    func execute(_ arguments: [CatalogValue]) throws -> Int {
        try statement.execute(arguments: SQLiteConnection.arguments(arguments))
        return db.changesCount
    }

    func insertReturningID(_ arguments: [CatalogValue]) throws -> Int64? {
        try statement.execute(arguments: SQLiteConnection.arguments(arguments))
        return db.changesCount == 0 ? nil : db.lastInsertedRowID
    }
}
