import Foundation
import Testing
@testable import TensorFormats

/// The zip layer under torch checkpoints: CRC-32 and bounds checks on corrupted archives.
@Suite struct TorchZipArchiveTests {
    /// Bitwise CRC-32 (reflected 0xEDB88320), the definition the table version must match.
    static func referenceCRC(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    @Test func crc32MatchesTheCheckValueAndTheBitwiseDefinition() {
        #expect(ZipCRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)  // the catalogue check value
        #expect(ZipCRC32.checksum([UInt8]()) == 0)
        let data = (0..<1031).map { UInt8(($0 * 131 + 7) % 251) }
        #expect(ZipCRC32.checksum(data) == Self.referenceCRC(data))
        var incremental = ZipCRC32()
        data[..<13].withUnsafeBytes { incremental.update($0) }
        data[13...].withUnsafeBytes { incremental.update($0) }
        #expect(incremental.value == Self.referenceCRC(data))
    }

    /// Copies a good fixture, lets `edit` change its bytes, and reads the result.
    func readEdited(_ edit: (inout [UInt8], ZipArchive) throws -> Void) throws -> (Error?, String) {
        let source = TorchFixtures.good("nested.pt")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        try edit(&bytes, try ZipArchive(path: source))
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("nested.pt").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try TorchCheckpoint.read(path: path)
            return (nil, path)
        } catch { return (error, path) }
    }

    static func put64(_ value: UInt64, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<8 { bytes[offset + i] = UInt8((value >> (8 * UInt64(i))) & 0xFF) }
    }
    static func put32(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<4 { bytes[offset + i] = UInt8((value >> (8 * UInt32(i))) & 0xFF) }
    }

    @Test func centralDirectoryOutsideTheFileIsRefused() throws {
        let (error, path) = try readEdited { bytes, _ in
            // torch writes a ZIP64 end record: 22-byte EOCD, 20-byte locator, 56-byte record before it.
            let record = bytes.count - 22 - 20 - 56
            #expect(bytes[record..<(record + 4)].elementsEqual([0x50, 0x4B, 0x06, 0x06]))
            Self.put64(UInt64(bytes.count + 100), at: record + 48, in: &bytes)
        }
        #expect(error as? ZipArchiveError == .outOfBounds(what: "central directory", path: path))
    }

    @Test func localHeaderOutsideTheFileIsRefused() throws {
        let (error, path) = try readEdited { bytes, archive in
            // Point the first central header (data.pkl) past the end of the file.
            let directoryStart = archive.entries.count > 0 ? try #require(Self.find([0x50, 0x4B, 0x01, 0x02], in: bytes)) : 0
            Self.put32(UInt32(bytes.count + 10), at: directoryStart + 42, in: &bytes)
        }
        #expect(error as? ZipArchiveError == .outOfBounds(what: "local header of nested/data.pkl", path: path))
    }

    @Test func corruptedPickleFailsItsCRC() throws {
        let (error, path) = try readEdited { bytes, archive in
            let entry = try #require(archive.entry(named: "nested/data.pkl"))
            let data = try archive.data(of: entry)
            let offset = data.baseAddress! - archive.bytes.baseAddress!
            bytes[offset + 20] ^= 0x01
        }
        #expect(error as? ZipArchiveError == .corrupt(reason: "CRC-32 mismatch in nested/data.pkl", path: path))
    }

    @Test func trailingGarbageHidesTheEndRecord() throws {
        let (error, path) = try readEdited { bytes, _ in bytes += [0, 0, 0] }
        #expect(error as? ZipArchiveError == .missingEndOfCentralDirectory(path: path))
    }

    @Test func everyTruncationIsRefusedWithoutCrashing() throws {
        let source = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TorchFixtures.good("nested.pt"))))
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("cut.pt").path
        for length in stride(from: 0, to: source.count, by: 7) {
            try Data(source[..<length]).write(to: URL(fileURLWithPath: path))
            #expect(throws: (any Error).self, "length \(length)") { try TorchCheckpoint.read(path: path) }
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
