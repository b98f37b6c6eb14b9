import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a zip archive of *stored* (uncompressed) entries to an open file descriptor, the way
/// torch's `PyTorchStreamWriter` lays it out (APPNOTE.TXT 6.3):
/// each entry's data starts on an `alignment`-byte boundary, padded with an extra field
/// `"FB"` filled with `Z` (as torch does); sizes and CRC-32 are written in the local header; ZIP64
/// extra fields are used for sizes or offsets ≥ 4 GiB; the ZIP64 end record and locator are
/// always written before the end-of-central-directory record (as torch does).
struct ZipWriter {
    private struct Written { var name: [UInt8]; var crc: UInt32; var size: Int; var offset: Int }

    let fileDescriptor: Int32
    let path: String
    /// Write ZIP64 extra fields for every entry even when not needed (tests exercise that path).
    var forceZip64 = false
    private var offset = 0
    private var written: [Written] = []

    init(fileDescriptor: Int32, path: String) {
        self.fileDescriptor = fileDescriptor
        self.path = path
    }

    /// Appends a stored entry.
    mutating func add(name: String, data: UnsafeRawBufferPointer, alignment: Int = 64) throws {
        let nameBytes = Array(name.utf8)
        let crc = ZipCRC32.checksum(data)
        let size = data.count
        let zip64 = forceZip64 || size >= 0xFFFF_FFFF || offset >= 0xFFFF_FFFF
        var header = ZipBytes()
        header.u32(0x0403_4B50)
        header.u16(zip64 ? 45 : 20)   // version needed to extract
        header.u16(0x0800)            // bit 11: names are UTF-8
        header.u16(0)                 // method: stored
        header.u16(0)                 // time 00:00:00
        header.u16(0x0021)            // date 1980-01-01
        header.u32(crc)
        header.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        header.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        header.u16(UInt16(nameBytes.count))
        var extra = ZipBytes()
        if zip64 {
            extra.u16(0x0001)
            extra.u16(16)
            extra.u64(UInt64(size))
            extra.u64(UInt64(size))
        }
        // Pad so that the data starts on an `alignment` boundary (an extra field needs ≥ 4 bytes).
        let unpadded = offset + 30 + nameBytes.count + extra.bytes.count
        var padding = (alignment - unpadded % alignment) % alignment
        if padding > 0 && padding < 4 { padding += alignment }
        if padding > 0 {
            extra.u16(0x4246)  // "FB"
            extra.u16(UInt16(padding - 4))
            extra.bytes += [UInt8](repeating: UInt8(ascii: "Z"), count: padding - 4)
        }
        header.u16(UInt16(extra.bytes.count))
        header.bytes += nameBytes
        header.bytes += extra.bytes
        written.append(Written(name: nameBytes, crc: crc, size: size, offset: offset))
        try write(header.bytes)
        try write(data)
    }

    mutating func add(name: String, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try add(name: name, data: $0) }
    }

    /// Writes the central directory and the end records.
    mutating func finish() throws {
        let directoryOffset = offset
        var directory = ZipBytes()
        for entry in written {
            let zip64 = forceZip64 || entry.size >= 0xFFFF_FFFF || entry.offset >= 0xFFFF_FFFF
            directory.u32(0x0201_4B50)
            directory.u16(zip64 ? 45 : 20)  // version made by (MS-DOS attributes)
            directory.u16(zip64 ? 45 : 20)  // version needed
            directory.u16(0x0800)
            directory.u16(0)
            directory.u16(0)
            directory.u16(0x0021)
            directory.u32(entry.crc)
            directory.u32(zip64 ? 0xFFFF_FFFF : UInt32(entry.size))
            directory.u32(zip64 ? 0xFFFF_FFFF : UInt32(entry.size))
            directory.u16(UInt16(entry.name.count))
            directory.u16(zip64 ? 28 : 0)
            directory.u16(0)  // comment
            directory.u16(0)  // disk
            directory.u16(0)  // internal attributes
            directory.u32(0)  // external attributes
            directory.u32(zip64 ? 0xFFFF_FFFF : UInt32(entry.offset))
            directory.bytes += entry.name
            if zip64 {
                directory.u16(0x0001)
                directory.u16(24)
                directory.u64(UInt64(entry.size))
                directory.u64(UInt64(entry.size))
                directory.u64(UInt64(entry.offset))
            }
        }
        let directorySize = directory.bytes.count
        let zip64EndOffset = directoryOffset + directorySize
        var end = ZipBytes()
        // ZIP64 end of central directory record (§4.3.14).
        end.u32(0x0606_4B50)
        end.u64(44)
        end.u16(45)
        end.u16(45)
        end.u32(0)
        end.u32(0)
        end.u64(UInt64(written.count))
        end.u64(UInt64(written.count))
        end.u64(UInt64(directorySize))
        end.u64(UInt64(directoryOffset))
        // ZIP64 end of central directory locator (§4.3.15).
        end.u32(0x0706_4B50)
        end.u32(0)
        end.u64(UInt64(zip64EndOffset))
        end.u32(1)
        // End of central directory record (§4.3.16).
        end.u32(0x0605_4B50)
        end.u16(0)
        end.u16(0)
        end.u16(UInt16(min(written.count, 0xFFFF)))
        end.u16(UInt16(min(written.count, 0xFFFF)))
        end.u32(UInt32(min(directorySize, 0xFFFF_FFFF)))
        end.u32(UInt32(min(directoryOffset, 0xFFFF_FFFF)))
        end.u16(0)
        try write(directory.bytes)
        try write(end.bytes)
    }

    // MARK: Output

    private mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private mutating func write(_ data: UnsafeRawBufferPointer) throws {
        guard var cursor = data.baseAddress, data.count > 0 else { return }
        var remaining = data.count
        while remaining > 0 {
            let n = Glibc.write(fileDescriptor, cursor, min(remaining, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw TorchCheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            cursor += n
            remaining -= n
            offset += n
        }
    }
}

/// Little-endian byte building for zip records.
struct ZipBytes {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
}
