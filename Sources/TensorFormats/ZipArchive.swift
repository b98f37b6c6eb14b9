import Foundation
import Tensors

/// A read-only zip archive over a memory-mapped file, as torch checkpoints use it.
///
/// Reads the central directory itself (PKWARE APPNOTE.TXT 6.3: end of central directory §4.3.16,
/// ZIP64 end record and locator §4.3.14–15, central file headers §4.3.12, ZIP64 extended
/// information extra field §4.5.3). Only *stored* entries (method 0) can be read — torch never
/// compresses — and every offset and size is checked against the file before use. Entry bytes
/// are zero-copy slices of the mapping.
public struct ZipArchive: Sendable {
    /// One central-directory entry.
    public struct Entry: Sendable {
        public var name: String
        public var method: UInt16
        public var flags: UInt16
        public var crc32: UInt32
        public var compressedSize: Int
        public var uncompressedSize: Int
        /// Offset of the entry's local file header.
        public var localHeaderOffset: Int
    }

    public let path: String
    public let bytes: ByteBuffer
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let index: [String: Int]

    /// Maps `path` and reads its central directory.
    public init(path: String) throws {
        try self.init(bytes: MappedFile.map(path: path), path: path)
    }

    /// Reads the central directory of an archive held in `bytes` (`path` only names it in errors).
    public init(bytes: ByteBuffer, path: String) throws {
        self.path = path
        self.bytes = bytes
        let reader = ZipByteReader(bytes: bytes, path: path)
        let directory = try Self.findCentralDirectory(reader)
        var entries: [Entry] = []
        entries.reserveCapacity(directory.count)
        var offset = directory.offset
        for _ in 0..<directory.count {
            let (entry, next) = try Self.readCentralHeader(reader, at: offset)
            entries.append(entry)
            offset = next
        }
        guard offset <= directory.offset + directory.size else {
            throw ZipArchiveError.corrupt(reason: "central directory is longer than its recorded size", path: path)
        }
        self.entries = entries
        self.index = Dictionary(entries.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
    }

    /// The entry called `name`, if any.
    public func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The bytes of the stored entry `name` (zero-copy).
    public func data(named name: String) throws -> ByteBuffer {
        guard let entry = entry(named: name) else { throw ZipArchiveError.missingEntry(name: name, path: path) }
        return try data(of: entry)
    }

    /// The bytes of a stored entry (zero-copy). Compressed and encrypted entries are refused.
    public func data(of entry: Entry) throws -> ByteBuffer {
        if entry.flags & 1 != 0 { throw ZipArchiveError.encryptedEntry(name: entry.name, path: path) }
        guard entry.method == 0 else {
            throw ZipArchiveError.compressedEntry(name: entry.name, method: entry.method, path: path)
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw ZipArchiveError.corrupt(reason: "stored entry \(entry.name) has different compressed and uncompressed sizes", path: path)
        }
        let reader = ZipByteReader(bytes: bytes, path: path)
        let header = entry.localHeaderOffset
        try reader.require(header, 30, "local header of \(entry.name)")
        guard reader.u32(header) == 0x0403_4B50 else {
            throw ZipArchiveError.corrupt(reason: "bad local header signature for \(entry.name)", path: path)
        }
        // Sizes in the local header may be zero (bit 3: data descriptor); the central directory's count.
        let start = header + 30 + Int(reader.u16(header + 26)) + Int(reader.u16(header + 28))
        try reader.require(start, entry.compressedSize, "data of \(entry.name)")
        return bytes.slice(start..<(start + entry.compressedSize))
    }

    /// The stored entry's bytes, checked against the CRC-32 recorded in the central directory.
    public func verifiedData(named name: String) throws -> ByteBuffer {
        let data = try data(named: name)
        guard let entry = entry(named: name) else { throw ZipArchiveError.missingEntry(name: name, path: path) }
        let crc = data.withUnsafeBytes { ZipCRC32.checksum($0) }
        guard crc == entry.crc32 else {
            throw ZipArchiveError.corrupt(reason: "CRC-32 mismatch in \(name)", path: path)
        }
        return data
    }

    // MARK: Central directory

    private struct Directory { var count: Int; var size: Int; var offset: Int }

    /// Finds the end-of-central-directory record (searching back over a comment of up to 64 KiB)
    /// and, when present, the ZIP64 end record it points to.
    private static func findCentralDirectory(_ r: ZipByteReader) throws -> Directory {
        let n = r.count
        guard n >= 22 else { throw ZipArchiveError.missingEndOfCentralDirectory(path: r.path) }
        var eocd = -1
        var candidate = n - 22
        let lowest = max(0, n - 22 - 0xFFFF)
        while candidate >= lowest {
            if r.u32(candidate) == 0x0605_4B50 && candidate + 22 + Int(r.u16(candidate + 20)) == n {
                eocd = candidate
                break
            }
            candidate -= 1
        }
        guard eocd >= 0 else { throw ZipArchiveError.missingEndOfCentralDirectory(path: r.path) }
        guard r.u16(eocd + 4) == 0, r.u16(eocd + 6) == 0 else { throw ZipArchiveError.multiDisk(path: r.path) }
        var directory = Directory(count: Int(r.u16(eocd + 10)), size: Int(r.u32(eocd + 12)), offset: Int(r.u32(eocd + 16)))
        // ZIP64 end of central directory locator (20 bytes) immediately precedes the EOCD record.
        if eocd >= 20, r.u32(eocd - 20) == 0x0706_4B50 {
            let recordOffset = try r.int64(eocd - 20 + 8, "ZIP64 end record offset")
            try r.require(recordOffset, 56, "ZIP64 end of central directory record")
            guard r.u32(recordOffset) == 0x0606_4B50 else {
                throw ZipArchiveError.corrupt(reason: "bad ZIP64 end of central directory signature", path: r.path)
            }
            guard r.u32(recordOffset + 16) == 0, r.u32(recordOffset + 20) == 0 else { throw ZipArchiveError.multiDisk(path: r.path) }
            directory = Directory(
                count: try r.int64(recordOffset + 32, "ZIP64 entry count"),
                size: try r.int64(recordOffset + 40, "ZIP64 central directory size"),
                offset: try r.int64(recordOffset + 48, "ZIP64 central directory offset"))
        } else if directory.count == 0xFFFF || directory.size == 0xFFFF_FFFF || directory.offset == 0xFFFF_FFFF {
            throw ZipArchiveError.corrupt(reason: "ZIP64 values announced but no ZIP64 locator", path: r.path)
        }
        try r.require(directory.offset, directory.size, "central directory")
        // Each central header is at least 46 bytes: a count that cannot fit is corrupt.
        guard directory.count <= directory.size / 46 else {
            throw ZipArchiveError.corrupt(reason: "entry count \(directory.count) does not fit the central directory", path: r.path)
        }
        return directory
    }

    /// Reads one central file header at `offset`; returns it and the offset of the next.
    private static func readCentralHeader(_ r: ZipByteReader, at offset: Int) throws -> (Entry, Int) {
        try r.require(offset, 46, "central directory header")
        guard r.u32(offset) == 0x0201_4B50 else {
            throw ZipArchiveError.corrupt(reason: "bad central directory header signature at offset \(offset)", path: r.path)
        }
        let nameLength = Int(r.u16(offset + 28)), extraLength = Int(r.u16(offset + 30)), commentLength = Int(r.u16(offset + 32))
        try r.require(offset + 46, nameLength + extraLength + commentLength, "central directory header")
        let nameBytes = r.bytes(offset + 46, nameLength)
        guard let name = String(validating: nameBytes, as: UTF8.self) else {
            throw ZipArchiveError.corrupt(reason: "entry name at offset \(offset) is not UTF-8", path: r.path)
        }
        var entry = Entry(
            name: name, method: r.u16(offset + 10), flags: r.u16(offset + 8), crc32: r.u32(offset + 16),
            compressedSize: Int(r.u32(offset + 20)), uncompressedSize: Int(r.u32(offset + 24)),
            localHeaderOffset: Int(r.u32(offset + 42)))
        let disk = r.u16(offset + 34)
        // ZIP64 extended information (§4.5.3): present fields replace the 0xFFFFFFFF placeholders, in order.
        var extra = offset + 46 + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let id = r.u16(extra), size = Int(r.u16(extra + 2))
            guard extra + 4 + size <= extraEnd else {
                throw ZipArchiveError.corrupt(reason: "extra field of \(name) overruns its header", path: r.path)
            }
            if id == 0x0001 {
                var field = extra + 4
                func next(_ what: String) throws -> Int {
                    guard field + 8 <= extra + 4 + size else {
                        throw ZipArchiveError.corrupt(reason: "ZIP64 extra field of \(name) lacks the \(what)", path: r.path)
                    }
                    defer { field += 8 }
                    return try r.int64(field, "ZIP64 \(what) of \(name)")
                }
                if entry.uncompressedSize == 0xFFFF_FFFF { entry.uncompressedSize = try next("uncompressed size") }
                if entry.compressedSize == 0xFFFF_FFFF { entry.compressedSize = try next("compressed size") }
                if entry.localHeaderOffset == 0xFFFF_FFFF { entry.localHeaderOffset = try next("local header offset") }
            }
            extra += 4 + size
        }
        guard disk == 0 || disk == 0xFFFF else { throw ZipArchiveError.multiDisk(path: r.path) }
        return (entry, extraEnd + commentLength)
    }
}

/// Bounds-checked little-endian reads over the archive's bytes.
struct ZipByteReader {
    let bytes: ByteBuffer
    let path: String
    var count: Int { bytes.count }

    /// Throws unless `offset..<offset+length` lies inside the file.
    func require(_ offset: Int, _ length: Int, _ what: String) throws {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw ZipArchiveError.outOfBounds(what: what, path: path)
        }
    }

    // Callers check bounds with `require` first.
    func u16(_ offset: Int) -> UInt16 {
        bytes.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    }
    func u32(_ offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }
    /// A 64-bit size or offset, refused when it does not fit an `Int`.
    func int64(_ offset: Int, _ what: String) throws -> Int {
        try require(offset, 8, what)
        let value = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        guard value <= UInt64(Int.max) else { throw ZipArchiveError.outOfBounds(what: what, path: path) }
        return Int(value)
    }
    func bytes(_ offset: Int, _ length: Int) -> [UInt8] {
        bytes.withUnsafeBytes { Array($0[offset..<(offset + length)]) }
    }
}
