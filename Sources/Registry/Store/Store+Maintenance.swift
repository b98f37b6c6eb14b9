import Foundation

/// Result of `concepts verify`.
public struct VerifyReport: Codable, Sendable {
    public let blobsChecked: Int
    public let problems: [String]
    enum CodingKeys: String, CodingKey {
        case problems
        case blobsChecked = "blobs_checked"
    }
}

/// Result of `concepts gc`.
public struct GCReport: Codable, Sendable {
    public let blobsRemoved: Int
    public let bytesFreed: Int
    enum CodingKeys: String, CodingKey {
        case blobsRemoved = "blobs_removed"
        case bytesFreed = "bytes_freed"
    }
}

extension Store {
    /// Re-hashes every blob file and checks every catalog reference: referenced blobs must exist
    /// and hash to their names, blob rows must have files, and (SQLite) the engine's integrity and
    /// foreign-key checks must pass — PostgreSQL enforces its constraints on every write.
    /// Unreferenced blobs (left by a writer that was killed) are not problems: `gc` removes them.
    public func verify() throws -> VerifyReport {
        var problems: [String] = []
        let (referenced, recorded, engineProblems) = try catalog.read { connection in
            (try referencedBlobSet(in: connection),
             Set(try connection.fetchColumn("SELECT sha256 FROM blob", as: String.self)),
             try Self.engineIntegrityProblems(in: connection))
        }
        problems += engineProblems
        let onDisk = Set(try blobs.allHashes())
        for sha in onDisk.sorted() {
            do { _ = try blobs.get(sha) } catch { problems.append(error.localizedDescription) }
        }
        for sha in referenced.union(recorded).subtracting(onDisk).sorted() {
            problems.append("blob \(sha) is referenced by the catalog but missing from \(blobs.path(for: sha).path)")
        }
        for sha in referenced.subtracting(recorded).sorted() {
            problems.append("blob \(sha) is referenced but has no row in the blob table")
        }
        return VerifyReport(blobsChecked: onDisk.count, problems: problems)
    }

    /// SQLite's `integrity_check` and `foreign_key_check`; nothing for PostgreSQL (constraints are
    /// checked on every write and pages are checksummed by the server).
    static func engineIntegrityProblems(in connection: any CatalogConnection) throws -> [String] {
        switch connection.dialect {
        case .sqlite:
            var problems: [String] = []
            let integrity = try connection.fetchColumn("PRAGMA integrity_check", as: String.self)
            if integrity != ["ok"] { problems += integrity.map { "catalog integrity: \($0)" } }
            for row in try connection.fetchAll("PRAGMA foreign_key_check") {
                let values = row.values
                func text(_ i: Int) -> String { values.count > i ? (String(catalogValue: values[i]) ?? "?") : "?" }
                let rowid = values.count > 1 ? (Int64(catalogValue: values[1]) ?? -1) : -1
                problems.append("catalog foreign key: table \(text(0)) row \(rowid) refers to a missing \(text(2)) row")
            }
            return problems
        case .postgres:
            return []
        }
    }

    /// Removes blob files and rows that nothing in the catalog refers to, and stale temporaries.
    public func collectGarbage() throws -> GCReport {
        let lock = try StoreLock(store: root, mode: .exclusive)
        defer { withExtendedLifetime(lock) {} }
        let referenced = try catalog.read { connection in try referencedBlobSet(in: connection) }
        var removed = 0
        var freed = 0
        for sha in try blobs.allHashes() where !referenced.contains(sha) {
            freed += try blobs.remove(sha)
            removed += 1
        }
        try catalog.write { connection in
            for sha in try connection.fetchColumn("SELECT sha256 FROM blob", as: String.self) where !referenced.contains(sha) {
                try connection.execute("DELETE FROM blob WHERE sha256 = ?", [sha])
            }
        }
        _ = blobs.removeStaleTemporaries(olderThan: 0)
        return GCReport(blobsRemoved: removed, bytesFreed: freed)
    }

    private func referencedBlobSet(in connection: any CatalogConnection) throws -> Set<String> {
        var all = Set<String>()
        for sql in Self.blobReferenceQueries { all.formUnion(try connection.fetchColumn(sql, as: String.self)) }
        return all
    }
}
