import Foundation

/// Extracts a POSIX (ustar / GNU) tar archive of a trainer output folder, streaming from a file
/// (512-byte headers, contents copied in 1 MiB chunks; nothing held whole in memory).
///
/// Only regular files and directories are written; links, devices and FIFOs are refused, as are
/// absolute names, `..` components and control characters, so nothing lands outside `directory`.
/// Nothing in the archive is executed. pax/GNU long-name records are refused (trainer outputs have
/// short names).
enum TarExtractor {
    struct Failure: Error, LocalizedError {
        let reason: String
        var errorDescription: String? { "not a usable tar archive: \(reason)" }
    }

    /// True when the 512-byte block carries the ustar magic at offset 257.
    static func isTar(header: Data) -> Bool {
        guard header.count >= 263 else { return false }
        return header[header.startIndex + 257 ..< header.startIndex + 262] == Data("ustar".utf8)
    }

    /// Extracts `archive` into `directory`; returns the relative paths of the files written.
    @discardableResult
    static func extract(_ archive: URL, into directory: URL, maxFiles: Int = 10_000) throws -> [String] {
        guard let input = FileHandle(forReadingAtPath: archive.path) else { throw Failure(reason: "cannot open the upload") }
        defer { try? input.close() }
        var written: [String] = []
        while true {
            guard let header = try input.read(upToCount: 512), header.count == 512 else {
                throw Failure(reason: "truncated archive (no end-of-archive blocks)")
            }
            if header.allSatisfy({ $0 == 0 }) { break }
            try checkChecksum(header)
            let name = try entryName(header)
            let size = try octal(header, offset: 124, length: 12)
            let type = header[header.startIndex + 156]
            let padded = (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "0"), 0:
                let target = try destination(name, in: directory)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: target.path, contents: nil), let output = FileHandle(forWritingAtPath: target.path) else {
                    throw Failure(reason: "cannot write \(name)")
                }
                defer { try? output.close() }
                var remaining = size
                while remaining > 0 {
                    guard let chunk = try input.read(upToCount: min(remaining, 1 << 20)), !chunk.isEmpty else {
                        throw Failure(reason: "\(name) is truncated")
                    }
                    try output.write(contentsOf: chunk)
                    remaining -= chunk.count
                }
                if padded > size { _ = try input.read(upToCount: padded - size) }
                written.append(name)
                guard written.count <= maxFiles else { throw Failure(reason: "more than \(maxFiles) files") }
            case UInt8(ascii: "5"):
                try FileManager.default.createDirectory(at: try destination(name, in: directory), withIntermediateDirectories: true)
                if padded > 0 { try input.seek(toOffset: try input.offset() + UInt64(padded)) }
            default:
                throw Failure(reason: "entry '\(name)' has type '\(Character(UnicodeScalar(type)))'; only regular files and directories are accepted")
            }
        }
        return written
    }

    /// `prefix/name` (ustar), checked for traversal and control characters.
    static func entryName(_ header: Data) throws -> String {
        func field(_ offset: Int, _ length: Int) -> String {
            let bytes = header[header.startIndex + offset ..< header.startIndex + offset + length].prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        let name = field(0, 100), prefix = isTar(header: header) ? field(345, 155) : ""
        let full = prefix.isEmpty ? name : prefix + "/" + name
        guard !full.isEmpty else { throw Failure(reason: "an entry has no name") }
        guard !full.hasPrefix("/"), !full.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "\\" }) else {
            throw Failure(reason: "entry name '\(full)' is absolute or has control characters")
        }
        let components = full.split(separator: "/")
        guard !components.contains("..") else { throw Failure(reason: "entry name '\(full)' leaves the folder") }
        return components.filter { $0 != "." }.joined(separator: "/")
    }

    static func destination(_ name: String, in directory: URL) throws -> URL {
        let target = directory.appendingPathComponent(name).standardizedFileURL
        guard target.path.hasPrefix(directory.standardizedFileURL.path + "/") else { throw Failure(reason: "entry '\(name)' leaves the folder") }
        return target
    }

    static func octal(_ header: Data, offset: Int, length: Int) throws -> Int {
        let bytes = header[header.startIndex + offset ..< header.startIndex + offset + length]
        let text = String(decoding: bytes.prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard let value = Int(text.isEmpty ? "0" : text, radix: 8), value >= 0, value < 1 << 40 else {
            throw Failure(reason: "bad octal field at offset \(offset)")
        }
        return value
    }

    static func checkChecksum(_ header: Data) throws {
        let stored = try octal(header, offset: 148, length: 8)
        var sum = 0
        for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(byte) }
        guard sum == stored else { throw Failure(reason: "header checksum mismatch") }
    }
}
