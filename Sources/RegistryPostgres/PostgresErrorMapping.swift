import Foundation
import PostgresNIO
import Registry

/// postgres-nio's errors as `CatalogError.engine(engine: "postgres", …)`. `PSQLError`'s own
/// description hides the server's message (to keep data out of logs); the catalog's reason is the
/// server's message with its SQLSTATE (PostgreSQL manual, Appendix A), detail and hint, which is
/// what an operator needs and never holds a password.
enum PostgresErrorMapping {
    static func catalogError(_ error: any Error, location: String) -> CatalogError {
        if let error = error as? CatalogError { return error }
        return .engine(engine: "postgres", location: location, reason: reason(error))
    }

    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            return reason(error)
        case let error as PostgresValueCoding.Failure:
            switch error {
            case .unsupported(let column, let type):
                return "column '\(column)' has type \(type) (OID \(type.rawValue)), which the catalog does not read"
            case .malformed(let column, let type):
                return "column '\(column)': malformed \(type) value"
            }
        case is PostgresPoolClosed:
            return "the catalog is closed"
        default:
            return String(describing: error)
        }
    }

    /// `message (SQLSTATE 23505): detail; hint: …` for a server error, the cause for the others.
    static func reason(_ error: PSQLError) -> String {
        if let info = error.serverInfo {
            var text = info[.message] ?? "server error"
            if let state = info[.sqlState] { text += " (SQLSTATE \(state))" }
            if let detail = info[.detail], !detail.isEmpty { text += ": \(detail)" }
            if let hint = info[.hint], !hint.isEmpty { text += "; hint: \(hint)" }
            return text
        }
        let underlying = error.underlying.map { String(describing: $0) }
        switch error.code {
        case .connectionError:
            return "cannot connect" + (underlying.map { ": \($0)" } ?? "")
        case .serverClosedConnection, .uncleanShutdown:
            return "the server closed the connection" + (underlying.map { ": \($0)" } ?? "")
        case .authMechanismRequiresPassword:
            return "the server asks for a password and the URL has none"
        case .sslUnsupported:
            return "the server does not support TLS (use sslmode=disable or prefer)"
        default:
            return "\(error.code)" + (underlying.map { ": \($0)" } ?? "")
        }
    }
}
