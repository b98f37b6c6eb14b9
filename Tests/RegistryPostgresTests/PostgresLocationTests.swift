import Foundation
import Registry
import Testing
@testable import RegistryPostgres

/// Catalog URLs and the value formats decoded without a server.
@Suite("PostgreSQL catalog URLs")
struct PostgresLocationTests {
    @Test("a full URL parses; the location omits the password")
    func parsesURL() throws {
        let location = try PostgresLocation(url: "postgres://alice:s%40cret@db.example:6543/registry?sslmode=require&application_name=x")
        #expect(location.user == "alice")
        #expect(location.password == "s@cret")
        #expect(location.host == "db.example")
        #expect(location.port == 6543)
        #expect(location.database == "registry")
        #expect(location.tls == .require)
        #expect(location.redacted == "postgres://alice@db.example:6543/registry?sslmode=require")
        #expect(!location.redacted.contains("cret"))
    }

    @Test("defaults: port 5432, no TLS; postgresql:// and a socket directory")
    func defaults() throws {
        let location = try PostgresLocation(url: "postgresql://bob@localhost/db?sslmode=disable")
        #expect(location.port == 5432)
        #expect(location.tls == .disable)
        #expect(location.password == nil)
        let socket = try PostgresLocation(url: "postgres://bob@localhost:5433/db?host=/tmp/pg")
        #expect(socket.socketPath == "/tmp/pg/.s.PGSQL.5433")
    }

    @Test("bad URLs are invalidLocation errors that never repeat the password",
          arguments: ["mysql://u@h/db", "postgres://h:5432/db", "postgres://u@h:5432/", "postgres://u@h/db?sslmode=maybe",
                      "postgres://u:hunter2@h/db?pool=3", "postgres://u@h:99999/db", "not a url"])
    func rejectsBadURLs(_ url: String) {
        do {
            _ = try PostgresCatalog(url: url)
            Issue.record("accepted \(url)")
        } catch let error as CatalogError {
            guard case .invalidLocation(let location, let reason) = error else {
                Issue.record("expected invalidLocation, got \(error)")
                return
            }
            #expect(!reason.isEmpty)
            #expect(!location.contains("hunter2"))
            #expect(!(error.errorDescription ?? "").contains("hunter2"))
        } catch {
            Issue.record("not a CatalogError: \(error)")
        }
    }

    @Test("a refused connection is a CatalogError naming the engine and the location")
    func refusedConnection() {
        do {
            _ = try PostgresCatalog(url: "postgres://u:pw@127.0.0.1:1/db?connect_timeout=5")
            Issue.record("connected to port 1")
        } catch let error as CatalogError {
            guard case .engine(let engine, let location, let reason) = error else {
                Issue.record("expected engine error, got \(error)")
                return
            }
            #expect(engine == "postgres")
            #expect(location == "postgres://u@127.0.0.1:1/db")
            #expect(reason.hasPrefix("cannot connect"), "\(reason)")
            #expect(reason.lowercased().contains("refused"), "\(reason)")
        } catch {
            Issue.record("not a CatalogError: \(error)")
        }
    }

    @Test("timestamps and dates decode to ISO 8601 text (PostgreSQL epoch 2000-01-01)")
    func timestampText() {
        #expect(PostgresValueCoding.timestamp(microseconds: 0, zoned: true) == "2000-01-01T00:00:00.000000Z")
        // 2026-11-29 08:17:17.123456 UTC = 1795940237.123456 s after 1970.
        #expect(PostgresValueCoding.timestamp(microseconds: (1_795_940_237 - 946_684_800) * 1_000_000 + 123_456, zoned: true)
                == "2026-11-29T08:17:17.123456Z")
        // Before the epoch: 1999-12-31 23:59:59.5.
        #expect(PostgresValueCoding.timestamp(microseconds: -500_000, zoned: false) == "1999-12-31T23:59:59.500000")
        #expect(PostgresValueCoding.date(days: -1) == "1999-12-31")
        #expect(PostgresValueCoding.date(days: 60) == "2000-03-01")
        #expect(PostgresValueCoding.timestamp(microseconds: .max, zoned: true) == "infinity")
    }

    @Test("an integral numeric is an integer, any other a real")
    func numericValues() {
        #expect(PostgresValueCoding.numeric(Decimal(string: "9007199254740993")!) == .integer(9_007_199_254_740_993))
        #expect(PostgresValueCoding.numeric(Decimal(string: "-12")!) == .integer(-12))
        #expect(PostgresValueCoding.numeric(Decimal(string: "2.5")!) == .real(2.5))
        #expect(PostgresValueCoding.numeric(Decimal(string: "99999999999999999999")!) == .real(1e20))
    }
}
