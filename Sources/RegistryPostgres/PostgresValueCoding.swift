import Foundation
import NIOCore
import PostgresNIO
import Registry

/// Binding `CatalogValue`s as parameters and reading result columns back, by the column's type OID
/// (results arrive in PostgreSQL's binary format; PostgreSQL manual §8 and the types' `*send` functions).
///
/// | PostgreSQL type                         | CatalogValue |
/// |-----------------------------------------|--------------|
/// | int2, int4, int8, oid                   | `.integer`   |
/// | float4, float8                          | `.real` (NaN and ±Infinity kept) |
/// | numeric                                 | `.integer` when integral and within Int64 (`SUM` of bigint is numeric), else `.real` |
/// | bool                                    | `.integer` 0/1 (the schema's booleans are integers) |
/// | text, varchar, bpchar, name, "char", json, jsonb, xml, uuid | `.text` |
/// | bytea                                   | `.blob`      |
/// | timestamp, timestamptz, date            | `.text`, ISO 8601 (`2026-11-29T08:17:17.123456Z`; no zone for `timestamp`) |
/// | void (e.g. `pg_advisory_xact_lock`)      | `.null`      |
/// | tsvector (the generated search columns) | `.text`, as PostgreSQL prints it (`'dog':2A,7 'new1':3B`) |
enum PostgresValueCoding {
    /// Parameters: `.integer` as int8, `.real` as float8, `.text` as text, `.blob` as bytea,
    /// `.null` untyped (the server infers the type from the context).
    static func bindings(_ values: [CatalogValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let integer): bindings.append(integer)
            case .real(let real): bindings.append(real)
            case .text(let text): bindings.append(text)
            case .blob(let data): bindings.append(NIOCore.ByteBuffer(bytes: data))
            }
        }
        return bindings
    }

    enum Failure: Error {
        /// A column of a type the catalog does not read, or bytes that do not fit the type.
        case unsupported(column: String, type: PostgresDataType)
        case malformed(column: String, type: PostgresDataType)
    }

    static func row(_ row: PostgresRow) throws -> CatalogRow {
        var columns: [String] = []
        var values: [CatalogValue] = []
        columns.reserveCapacity(row.count)
        values.reserveCapacity(row.count)
        for cell in row {
            columns.append(cell.columnName)
            values.append(try value(cell))
        }
        return CatalogRow(columns: columns, values: values)
    }

    static func value(_ cell: PostgresCell) throws -> CatalogValue {
        guard var buffer = cell.bytes else { return .null }
        let type = cell.dataType
        let malformed = Failure.malformed(column: cell.columnName, type: type)
        if cell.format == .text {
            // Not requested by postgres-nio (it asks for binary results); kept readable all the same.
            return .text(buffer.readString(length: buffer.readableBytes) ?? "")
        }
        switch type {
        case .int2:
            guard buffer.readableBytes == 2, let value = buffer.readInteger(as: Int16.self) else { throw malformed }
            return .integer(Int64(value))
        case .int4:
            guard buffer.readableBytes == 4, let value = buffer.readInteger(as: Int32.self) else { throw malformed }
            return .integer(Int64(value))
        case .int8:
            guard buffer.readableBytes == 8, let value = buffer.readInteger(as: Int64.self) else { throw malformed }
            return .integer(value)
        case .oid:
            guard buffer.readableBytes == 4, let value = buffer.readInteger(as: UInt32.self) else { throw malformed }
            return .integer(Int64(value))
        case .float4:
            guard buffer.readableBytes == 4, let bits = buffer.readInteger(as: UInt32.self) else { throw malformed }
            return .real(Double(Float(bitPattern: bits)))
        case .float8:
            guard buffer.readableBytes == 8, let bits = buffer.readInteger(as: UInt64.self) else { throw malformed }
            return .real(Double(bitPattern: bits))
        case .numeric:
            guard let decimal = try? cell.decode(Decimal.self) else { throw malformed }
            return numeric(decimal)
        case .bool:
            guard buffer.readableBytes == 1, let byte = buffer.readInteger(as: UInt8.self) else { throw malformed }
            return .integer(byte == 0 ? 0 : 1)
        case .text, .varchar, .bpchar, .name, .char, .json, .xml:
            return .text(buffer.readString(length: buffer.readableBytes) ?? "")
        case .jsonb:
            guard buffer.readInteger(as: UInt8.self) == 1 else { throw malformed }
            return .text(buffer.readString(length: buffer.readableBytes) ?? "")
        case .uuid:
            guard let uuid = try? cell.decode(UUID.self) else { throw malformed }
            return .text(uuid.uuidString.lowercased())
        case .bytea:
            return .blob(buffer.readData(length: buffer.readableBytes) ?? Data())
        case .timestamp, .timestamptz:
            guard buffer.readableBytes == 8, let microseconds = buffer.readInteger(as: Int64.self) else { throw malformed }
            return .text(timestamp(microseconds: microseconds, zoned: type == .timestamptz))
        case .date:
            guard buffer.readableBytes == 4, let days = buffer.readInteger(as: Int32.self) else { throw malformed }
            return .text(date(days: days))
        case .void:
            return .null
        case tsvector:
            guard let text = tsvectorText(&buffer) else { throw malformed }
            return .text(text)
        default:
            throw Failure.unsupported(column: cell.columnName, type: type)
        }
    }

    /// tsvector (OID 3614), absent from postgres-nio's named types.
    static let tsvector = PostgresDataType(3614)

    /// tsvector's binary form (`tsvectorsend`): an int32 count, then per lexeme its bytes, a NUL,
    /// an int16 count of positions and the positions (int16: weight in the top 2 bits, 3 = A).
    static func tsvectorText(_ buffer: inout NIOCore.ByteBuffer) -> String? {
        guard let count = buffer.readInteger(as: Int32.self), count >= 0 else { return nil }
        var lexemes: [String] = []
        for _ in 0..<count {
            guard let end = buffer.readableBytesView.firstIndex(of: 0),
                  let lexeme = buffer.readString(length: end - buffer.readerIndex),
                  buffer.readInteger(as: UInt8.self) == 0,
                  let positions = buffer.readInteger(as: UInt16.self) else { return nil }
            var text = "'" + lexeme.replacingOccurrences(of: "'", with: "''") + "'"
            var items: [String] = []
            for _ in 0..<positions {
                guard let position = buffer.readInteger(as: UInt16.self) else { return nil }
                let weight = ["", "C", "B", "A"][Int(position >> 14)]
                items.append("\(position & 0x3FFF)\(weight)")
            }
            if !items.isEmpty { text += ":" + items.joined(separator: ",") }
            lexemes.append(text)
        }
        return buffer.readableBytes == 0 ? lexemes.joined(separator: " ") : nil
    }

    /// An integral numeric within Int64 as `.integer`, any other as `.real`.
    static func numeric(_ decimal: Decimal) -> CatalogValue {
        let text = decimal.description
        if !text.contains("."), !text.contains("e"), !text.contains("E"), let integer = Int64(text) {
            return .integer(integer)
        }
        return .real(Double(text) ?? NSDecimalNumber(decimal: decimal).doubleValue)
    }

    /// PostgreSQL's epoch for timestamps and dates: 2000-01-01 00:00:00 UTC.
    static let epoch: Int64 = 946_684_800

    /// Microseconds since 2000-01-01 as `YYYY-MM-DDTHH:MM:SS.ffffff[Z]` (UTC), or `infinity`/`-infinity`.
    static func timestamp(microseconds: Int64, zoned: Bool) -> String {
        if microseconds == .max { return "infinity" }
        if microseconds == .min { return "-infinity" }
        let (seconds, fraction) = floorDivision(microseconds, 1_000_000)
        let (days, secondOfDay) = floorDivision(seconds + epoch, 86_400)
        let (year, month, day) = civil(daysSinceUnixEpoch: days)
        let text = String(format: "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lld", year, month, day,
                          secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60, fraction)
        return zoned ? text + "Z" : text
    }

    /// Days since 2000-01-01 as `YYYY-MM-DD`, or `infinity`/`-infinity`.
    static func date(days: Int32) -> String {
        if days == .max { return "infinity" }
        if days == .min { return "-infinity" }
        let (year, month, day) = civil(daysSinceUnixEpoch: Int64(days) + epoch / 86_400)
        return String(format: "%04lld-%02lld-%02lld", year, month, day)
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
        return (quotient, value - quotient * divisor)
    }

    /// The proleptic Gregorian date of a day count (H. Hinnant, "chrono-Compatible Low-Level Date
    /// Algorithms", civil_from_days).
    static func civil(daysSinceUnixEpoch days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
