import Foundation
import Registry
import Testing
@testable import RegistryPostgres

/// Transactions, isolation, advisory locks and error messages against a real server.
@Suite("PostgreSQL catalog transactions", .enabled(if: PostgresTestDatabase.available, PostgresTestDatabase.skipReason))
struct PostgresCatalogTransactionTests {
    struct Thrown: Error {}

    @Test("write commits when the body returns and rolls back when it throws")
    func rollbackOnThrow() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            try catalog.write { try $0.execute("CREATE TABLE t (x bigint)") }
            try catalog.write { try $0.execute("INSERT INTO t VALUES (1)") }
            #expect(throws: Thrown.self) {
                try catalog.write { connection in
                    try connection.execute("INSERT INTO t VALUES (2)")
                    throw Thrown()
                }
            }
            #expect(try catalog.read { try $0.fetchColumn("SELECT x FROM t ORDER BY x", as: Int.self) } == [1])
        }
    }

    @Test("a failed statement caught inside write makes the transaction roll back, and says so")
    func caughtFailureRollsBack() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            try catalog.write { try $0.execute("CREATE TABLE u (x bigint PRIMARY KEY)") }
            #expect {
                try catalog.write { connection in
                    try connection.execute("INSERT INTO u VALUES (1)")
                    _ = try? connection.execute("INSERT INTO u VALUES (1)")
                }
            } throws: { error in
                let reason = engineReason(error) ?? ""
                return reason.contains("rolled back") && reason.contains("23505")
            }
            #expect(try catalog.read { try $0.fetchValue("SELECT COUNT(*) FROM u", as: Int.self) } == 0)
            // The connection went back to the pool clean.
            try catalog.write { try $0.execute("INSERT INTO u VALUES (2)") }
            #expect(try catalog.read { try $0.fetchValue("SELECT COUNT(*) FROM u", as: Int.self) } == 1)
        }
    }

    @Test("a read transaction refuses writes (SQLSTATE 25006)")
    func readOnly() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            try catalog.write { try $0.execute("CREATE TABLE r (x bigint)") }
            #expect {
                try catalog.read { try $0.execute("INSERT INTO r VALUES (1)") }
            } throws: { error in
                (engineReason(error) ?? "").contains("SQLSTATE 25006")
            }
            #expect(try catalog.read { try $0.fetchValue("SELECT COUNT(*) FROM r", as: Int.self) } == 0)
        }
    }

    @Test("a read transaction sees one snapshot while another connection commits")
    func repeatableRead() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            try catalog.write { try $0.execute("CREATE TABLE s (x bigint)") }
            let counts = try catalog.read { connection -> [Int] in
                let before = try connection.fetchValue("SELECT COUNT(*) FROM s", as: Int.self) ?? -1
                // Another pooled connection commits a row meanwhile (this thread waits for it).
                try catalog.write { try $0.execute("INSERT INTO s VALUES (1)") }
                let after = try connection.fetchValue("SELECT COUNT(*) FROM s", as: Int.self) ?? -1
                return [before, after]
            }
            #expect(counts == [0, 0])
            #expect(try catalog.read { try $0.fetchValue("SELECT COUNT(*) FROM s", as: Int.self) } == 1)
        }
    }

    @Test("lockForWrite serialises two writers computing MAX+1: 2 threads × 20 inserts give 1…40")
    func advisoryLockSerialisesWriters() throws {
        try PostgresTestDatabase.withCatalog { catalog, url in
            // No unique constraint: without the lock, two writers reading the same MAX would both insert.
            try catalog.write { try $0.execute("CREATE TABLE numbered (writer bigint, n bigint)") }
            let errors = onThreads(2) { writer in
                // Each writer its own catalog (as two hosts would have).
                let mine = try PostgresCatalog(url: url)
                defer { try? mine.close() }
                for _ in 0..<20 {
                    try mine.write { connection in
                        try connection.lockForWrite(key: "concept:numbered")
                        let next = (try connection.fetchValue("SELECT MAX(n) FROM numbered", as: Int64.self) ?? 0) + 1
                        try connection.execute("SELECT pg_sleep(0.003)")   // widen the read-then-write window
                        try connection.execute("INSERT INTO numbered (writer, n) VALUES (?, ?)", [.integer(Int64(writer)), .integer(next)])
                    }
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            let numbers = try catalog.read { try $0.fetchColumn("SELECT n FROM numbered ORDER BY n", as: Int64.self) }
            #expect(numbers == Array(1...40))
            let perWriter = try catalog.read { try $0.fetchColumn("SELECT COUNT(*) FROM numbered GROUP BY writer ORDER BY writer", as: Int.self) }
            #expect(perWriter == [20, 20])
        }
    }

    @Test("server errors carry the message and SQLSTATE; the location has no password")
    func errorMessages() throws {
        try PostgresTestDatabase.withCatalog { catalog, url in
            try catalog.write { try $0.execute("CREATE TABLE e (x bigint PRIMARY KEY)") }
            try catalog.write { try $0.execute("INSERT INTO e VALUES (1)") }
            #expect {
                try catalog.write { try $0.execute("INSERT INTO e VALUES (?)", [.integer(1)]) }
            } throws: { error in
                guard case .engine(let engine, let location, let reason)? = error as? CatalogError else { return false }
                let password = URLComponents(string: url)?.password ?? "\u{0}"
                return engine == "postgres" && reason.contains("duplicate key value violates unique constraint")
                    && reason.contains("(SQLSTATE 23505)") && reason.contains("Key (x)=(1) already exists")
                    && location == catalog.location && !location.contains(password)
                    && ((error as? CatalogError)?.errorDescription ?? "").contains("SQLSTATE 23505")
            }
            #expect {
                try catalog.read { try $0.fetchAll("SELEC 1") }
            } throws: { error in
                (engineReason(error) ?? "").contains("(SQLSTATE 42601)")
            }
        }
    }

    @Test("a wrong password is a CatalogError with SQLSTATE 28P01")
    func wrongPassword() throws {
        let url = try #require(PostgresTestDatabase.serverURL)
        var components = try #require(URLComponents(string: url))
        components.password = "wrong-password"
        #expect {
            _ = try PostgresCatalog(url: try #require(components.string))
        } throws: { error in
            let reason = engineReason(error) ?? ""
            return reason.contains("28P01") && !reason.contains("wrong-password")
        }
    }

    @Test("close waits for a transaction running on another thread, which commits; later work is refused")
    func closeWaitsForTransactions() throws {
        try PostgresTestDatabase.with { url in
            let catalog = try PostgresCatalog(url: url)
            try catalog.write { try $0.execute("CREATE TABLE w (x bigint)") }
            let started = DispatchSemaphore(value: 0)
            let errors = ErrorBox()
            let done = DispatchSemaphore(value: 0)
            Thread {
                do {
                    try catalog.write { connection in
                        started.signal()
                        try connection.execute("SELECT pg_sleep(0.3)")
                        try connection.execute("INSERT INTO w VALUES (1)")
                    }
                } catch { errors.append(error) }
                done.signal()
            }.start()
            started.wait()
            try catalog.close()
            // close returned only after the writer's transaction ended (and committed).
            #expect(done.wait(timeout: .now()) == .success)
            #expect(errors.all.isEmpty, "\(errors.all)")
            let again = try PostgresCatalog(url: url)
            defer { try? again.close() }
            #expect(try again.read { try $0.fetchValue("SELECT COUNT(*) FROM w", as: Int.self) } == 1)
        }
    }

    @Test("a catalog dropped without close releases its connections and thread")
    func dropWithoutClose() throws {
        try PostgresTestDatabase.with { url in
            for _ in 0..<3 {
                let catalog = try PostgresCatalog(url: url)
                try catalog.read { try $0.fetchAll("SELECT 1") }
            }
            // The server sees the dropped catalogs' connections go (closed by their deinit).
            let observer = try PostgresCatalog(url: url)
            defer { try? observer.close() }
            var others = -1
            for _ in 0..<50 {
                others = try observer.read {
                    try $0.fetchValue("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", as: Int.self) ?? -1
                }
                if others == 0 { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(others == 0)
        }
    }

    @Test("after close, the catalog refuses work with a CatalogError")
    func closed() throws {
        try PostgresTestDatabase.with { url in
            let catalog = try PostgresCatalog(url: url)
            try catalog.close()
            #expect {
                try catalog.read { try $0.fetchAll("SELECT 1") }
            } throws: { error in
                engineReason(error) == "the catalog is closed"
            }
        }
    }
}
