import Foundation
import Registry
import Testing
@testable import RegistryPostgres

/// Every `CatalogValue` through a real server and back, and the decoding of other column types.
@Suite("PostgreSQL catalog values", .enabled(if: PostgresTestDatabase.available, PostgresTestDatabase.skipReason))
struct PostgresCatalogValueTests {
    @Test("integers, reals (NaN, ±Inf, -0), text, blobs (8 MiB) and NULL round-trip exactly")
    func roundTrips() throws {
        var random = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: 1 << 20)
        for index in words.indices { words[index] = random.next() }
        let large = words.withUnsafeBytes { Data($0) }   // 8 MiB of random bytes
        let rows: [[CatalogValue]] = [
            [.integer(.min), .real(.nan), .text(""), .blob(Data())],
            [.integer(.max), .real(.infinity), .text("it's a \"quote\" ? $1 -- not a comment"), .blob(large)],
            [.integer(0), .real(-.infinity), .text("Ünïcödé ✓ 🐕 \u{0001}"), .blob(Data([0, 1, 0xFF, 0x5C, 0x27]))],
            [.integer(-1), .real(-0.0), .null, .null],
            [.null, .real(.leastNonzeroMagnitude), .text(String(repeating: "x", count: 100_000)), .blob(Data([0]))],
            [.integer(42), .real(.greatestFiniteMagnitude), .text("\n\t"), .null],
            [.integer(7), .null, .text("null"), .blob(Data("NULL".utf8))],
        ]
        try PostgresTestDatabase.withCatalog { catalog, _ in
            try catalog.write { connection in
                try connection.execute("CREATE TABLE value_test (position bigint, i bigint, r double precision, s text, b bytea)")
                for (position, row) in rows.enumerated() {
                    try connection.execute("INSERT INTO value_test (position, i, r, s, b) VALUES (?, ?, ?, ?, ?)", [.integer(Int64(position))] + row)
                }
            }
            let read = try catalog.read { try $0.fetchAll("SELECT i, r, s, b FROM value_test ORDER BY position") }
            #expect(read.count == rows.count)
            for (expected, row) in zip(rows, read) {
                #expect(row.columns == ["i", "r", "s", "b"])
                for (want, got) in zip(expected, row.values) {
                    if case .real(let a) = want, case .real(let b) = got, a.isNaN {
                        #expect(b.isNaN)
                    } else if case .real(let a) = want, case .real(let b) = got {
                        #expect(a.bitPattern == b.bitPattern, "\(a) came back as \(b)")
                    } else {
                        #expect(want == got)
                    }
                }
            }
            // Parameters are typed (int8, float8, text, bytea): they round-trip without a table too.
            let echoed = try catalog.read { try $0.fetchOne("SELECT ? AS i, ? AS r, ? AS s, ? AS b", [.integer(3), .real(0.1), .text("t"), .blob(Data([9]))]) }
            #expect(echoed?.values == [.integer(3), .real(0.1), .text("t"), .blob(Data([9]))])
        }
    }

    @Test("columns decode by type OID: int2/4/8, float4, numeric, bool, varchar, name, timestamps, date, uuid, jsonb, void")
    func decodesTypes() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            let row = try catalog.read { connection in
                try connection.fetchOne("""
                    SELECT 1::int2 AS a, 2::int4 AS b, 3::int8 AS c, 1.5::float4 AS d, 2.25::numeric AS e,
                           (SELECT SUM(x) FROM (VALUES (9007199254740993::bigint), (1::bigint)) v(x)) AS f,
                           true AS g, false AS h, 'v'::varchar(3) AS i, 'n'::name AS j,
                           TIMESTAMPTZ '2026-11-29 08:17:17.123456+00' AS k, TIMESTAMP '1969-07-20 20:17:40.5' AS l,
                           DATE '1999-12-31' AS m, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS n,
                           '{"k": [1, 2]}'::jsonb AS o, pg_sleep(0) AS p, 'c'::"char" AS q
                    """)
            }
            let values = try #require(row).values
            #expect(values == [
                .integer(1), .integer(2), .integer(3), .real(1.5), .real(2.25), .integer(9_007_199_254_740_994),
                .integer(1), .integer(0), .text("v"), .text("n"),
                .text("2026-11-29T08:17:17.123456Z"), .text("1969-07-20T20:17:40.500000"),
                .text("1999-12-31"), .text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                .text("{\"k\": [1, 2]}"), .null, .text("c"),
            ])
            #expect(try row?.value("f", as: Int.self) == 9_007_199_254_740_994)
            // tsvector (the schema's generated search columns, e.g. in SELECT * FROM caption) reads as PostgreSQL prints it.
            let vector = try catalog.read {
                try $0.fetchOne("SELECT setweight(to_tsvector('simple', 'dog''s corgi dog'), 'A') || to_tsvector('simple', 'x') AS v, ''::tsvector AS e, 'a b'::tsvector AS p")
            }
            #expect(vector?.values == [.text("'corgi':3A 'dog':1A,4A 's':2A 'x':5"), .text(""), .text("'a' 'b'")])
            #expect(try row?.value("g", as: Bool.self) == true)
        }
    }

    @Test("a column of a type the catalog does not read is a CatalogError naming column and OID")
    func unsupportedType() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            #expect {
                try catalog.read { try $0.fetchAll("SELECT point(1, 2) AS p") }
            } throws: { error in
                let reason = engineReason(error) ?? ""
                return reason.contains("'p'") && reason.contains("OID 600")
            }
        }
    }

    @Test("insertReturningID returns the new id, nil when ON CONFLICT DO NOTHING skipped the row")
    func insertReturningID() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            try catalog.write { connection in
                try connection.execute("CREATE TABLE named (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text UNIQUE)")
                let first = try connection.insertReturningID("INSERT INTO named (name) VALUES (?)", [.text("a")])
                let second = try connection.insertReturningID("INSERT INTO named (name) VALUES (?);  -- b", [.text("b")])
                let skipped = try connection.insertReturningID("INSERT INTO named (name) VALUES (?) ON CONFLICT (name) DO NOTHING", [.text("a")])
                #expect(first == 1)
                #expect(second == 2)
                #expect(skipped == nil)
                #expect(try connection.execute("UPDATE named SET name = name || '!'") == 2)
            }
        }
    }

    @Test("a prepared statement runs many times in its transaction: counts, ids, skipped conflicts")
    func preparedStatement() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            let (ids, changed, skipped) = try catalog.write { connection -> ([Int64?], Int, Int64?) in
                try connection.execute("CREATE TABLE item (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text UNIQUE, data bytea)")
                let insert = try connection.prepare("INSERT INTO item (name, data) VALUES (?, ?) ON CONFLICT (name) DO NOTHING;")
                var ids: [Int64?] = []
                for index in 0..<50 { ids.append(try insert.insertReturningID([.text("n\(index)"), .blob(Data([UInt8(index)]))])) }
                let update = try connection.prepare("UPDATE item SET data = ? WHERE id <= ?")
                let changed = try update.execute([.null, .integer(10)])
                return (ids, changed, try insert.insertReturningID([.text("n3"), .null]))
            }
            #expect(ids == (1...50).map { Int64($0) })
            #expect(changed == 10)
            #expect(skipped == nil)
            #expect(try catalog.read { try $0.fetchValue("SELECT COUNT(*) FROM item WHERE data IS NULL", as: Int.self) } == 10)
        }
    }

    @Test("a ? inside a literal stays a character; a wrong argument count is a CatalogError")
    func placeholdersInLiterals() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            let row = try catalog.read { try $0.fetchOne("SELECT '?' AS q, ?::text AS p, $$a?$$ AS d /* ? */ -- ?", [.text("arg")]) }
            #expect(row?.values == [.text("?"), .text("arg"), .text("a?")])
            #expect {
                try catalog.read { try $0.fetchAll("SELECT ?, ?", [.integer(1)]) }
            } throws: { error in
                (engineReason(error) ?? "").contains("2 placeholder(s) but 1 argument(s)")
            }
        }
    }

    @Test("forEachRow streams through a cursor in order, and the body may query meanwhile")
    func streamsRows() throws {
        try PostgresTestDatabase.withCatalog { catalog, _ in
            let (seen, inner) = try catalog.read { connection -> ([Int64], Int) in
                var seen: [Int64] = []
                var inner = 0
                try connection.forEachRow("SELECT n FROM generate_series(1, ?) AS n ORDER BY n;", [.integer(1300)]) { row in
                    seen.append(try row.value("n"))
                    if seen.count % 500 == 0 { inner += try connection.fetchValue("SELECT 1", as: Int.self) ?? 0 }
                }
                return (seen, inner)
            }
            #expect(seen == Array(1...1300))
            #expect(inner == 2)
        }
    }
}
