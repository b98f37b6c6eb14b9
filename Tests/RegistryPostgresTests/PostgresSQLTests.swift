import Foundation
import Testing
import RegistrySchema
@testable import RegistryPostgres

/// The `?` → `$n` rewriting and the statement splitter (no server needed).
@Suite("PostgreSQL SQL rewriting")
struct PostgresSQLTests {
    @Test("placeholders are numbered left to right")
    func numbersPlaceholders() {
        let (sql, count) = PostgresSQL.numberPlaceholders("SELECT * FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?")
        #expect(sql == "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) LIMIT $4")
        #expect(count == 4)
    }

    @Test("a ? inside string literals, identifiers, comments and dollar quotes is not a placeholder")
    func skipsLiteralsAndComments() {
        let input = """
            SELECT '?', 'it''s ?', E'\\' ?', "col?" , $$ ? $$, $tag$ ?'$ $tag$, ? -- ? comment
            /* ? /* nested ? */ still ? */ FROM t WHERE x = ?
            """
        let (sql, count) = PostgresSQL.numberPlaceholders(input)
        #expect(count == 2)
        #expect(sql == """
            SELECT '?', 'it''s ?', E'\\' ?', "col?" , $$ ? $$, $tag$ ?'$ $tag$, $1 -- ? comment
            /* ? /* nested ? */ still ? */ FROM t WHERE x = $2
            """)
    }

    @Test("a plain string before E is not an escape string; $1 and a$b are not dollar quotes")
    func escapeAndDollarEdges() {
        // 'abc\' ends at the quote (standard_conforming_strings): the ? after it is a placeholder.
        let (first, firstCount) = PostgresSQL.numberPlaceholders("SELECT 'a\\', ?, TYPE'x?', a$b, $1 ?")
        #expect(firstCount == 2)
        #expect(first == "SELECT 'a\\', $1, TYPE'x?', a$b, $1 $2")
        // Multi-byte characters pass through unchanged.
        let (second, secondCount) = PostgresSQL.numberPlaceholders("SELECT 'ü?é', ? AS «ß»")
        #expect(second == "SELECT 'ü?é', $1 AS «ß»")
        #expect(secondCount == 1)
    }

    @Test("scripts split at semicolons outside literals; comment-only pieces are dropped")
    func splitsStatements() {
        let script = """
            -- header; with a semicolon
            CREATE TABLE a (x text DEFAULT ';');
            /* ; */ CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
            INSERT INTO a VALUES ('x;y')  ;
            -- trailing comment;
            """
        let statements = PostgresSQL.splitStatements(script)
        #expect(statements.count == 3)
        #expect(statements[0] == "CREATE TABLE a (x text DEFAULT ';')")
        #expect(statements[1] == "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql")
        #expect(statements[2] == "INSERT INTO a VALUES ('x;y')")
    }

    @Test("RETURNING is appended after trailing semicolons and comments are removed")
    func trimsTail() {
        #expect(PostgresSQL.trimmingTail("INSERT INTO t VALUES (?) ON CONFLICT DO NOTHING; -- done\n") == "INSERT INTO t VALUES (?) ON CONFLICT DO NOTHING")
        #expect(PostgresSQL.trimmingTail("INSERT INTO t VALUES (';')") == "INSERT INTO t VALUES (';')")
    }

    @Test("the schema's migrations split into statements that each name one object")
    func migrationsSplit() throws {
        for migration in try RegistrySchema.postgresMigrations() {
            let statements = PostgresSQL.splitStatements(migration.sql)
            #expect(!statements.isEmpty)
            for statement in statements {
                #expect(statement.hasPrefix("CREATE "), "\(migration.identifier): \(statement.prefix(60))")
            }
        }
    }
}
