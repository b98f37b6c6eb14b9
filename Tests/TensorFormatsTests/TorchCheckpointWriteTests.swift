import Foundation
import Tensors
import Testing
@testable import TensorFormats

/// `TorchCheckpoint.write` produces what our reader (and, checked by hand with
/// `torch.load(weights_only=True)`, torch 2.15) reads back identically, laid out as torch lays it out.
@Suite struct TorchCheckpointWriteTests {
    static func tensor(_ dtype: DType, _ shape: [Int]) throws -> RawTensor {
        let count = shape.reduce(1, *) * dtype.byteSize
        return try RawTensor(dtype: dtype, shape: shape, bytes: ByteBuffer(copying: (0..<count).map { UInt8(($0 * 37 + 11) % 256) }))
    }

    static func sample() throws -> PickleValue {
        var tensors: [(String, PickleValue)] = []
        for (i, dtype) in DType.allCases.enumerated() {
            tensors.append((dtype.rawValue, .tensor(try tensor(dtype, [2, i + 1, 3]))))
        }
        tensors.append(("scalar", .tensor(try tensor(.float32, []))))
        tensors.append(("empty", .tensor(try tensor(.float16, [0, 4]))))
        tensors.append(("rank5", .tensor(try tensor(.bfloat16, [1, 2, 1, 3, 2]))))
        let ints: [PickleValue] = [0, 1, 255, 256, 65535, 65536, -1, -128, -129, Int64(Int32.min), Int64(Int32.max), Int64(Int32.max) + 1,
                                   1 << 40, -(1 << 40), Int64.min, Int64.max].map { .int($0) }
        return .stringDict([
            ("state_dict", .stringDict(tensors, ordered: true)),
            ("nested", .stringDict([("deeper", .stringDict([("w", .tensor(try tensor(.float32, [3, 2])))])), ("empty", .stringDict([]))])),
            ("ints", .list(ints)),
            ("floats", .tuple([.float(0.1), .float(-0.0), .float(.infinity), .float(Double(bitPattern: 0x0000_1268_8B70_E62B))])),  // 1e-310, a subnormal (the literal would warn)
            ("pair", .tuple([.string("a"), .int(2)])),
            ("quad", .tuple([.none, .bool(true), .bool(false), .string("日本語 ✓")])),
            ("tags", .set([.int(3), .int(1)])),
            ("epoch", .int(12)),
            (String(repeating: "k", count: 300), .string("long key")),
        ])
    }

    @Test func roundTripsEveryKindOfValue() throws {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sample.ckpt").path
        let value = try Self.sample()
        try TorchCheckpoint.write(value, to: path)
        #expect(sameValue(try TorchCheckpoint.read(path: path), value))
        // Only the result remains: no temporary file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["sample.ckpt"])
    }

    /// Read a torch-written fixture, write it, read it again: the same tree as torch's golden.
    @Test(arguments: TorchFixtures.goodFiles)
    func rewritesFixturesFaithfully(file: String) throws {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(file).path
        try TorchCheckpoint.write(try TorchCheckpoint.read(path: TorchFixtures.good(file)), to: path)
        expectMatchesGolden(try TorchCheckpoint.read(path: path), try TorchFixtures.goldenTree(file))
    }

    @Test func layoutFollowsTorch() throws {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("delta.bin").path
        try TorchCheckpoint.write(.stringDict([("a", .tensor(try Self.tensor(.float32, [3]))), ("b", .tensor(try Self.tensor(.int8, [5])))]), to: path)
        let archive = try ZipArchive(path: path)
        #expect(archive.entries.map(\.name) == ["delta/data.pkl", "delta/.format_version", "delta/.storage_alignment",
                                                 "delta/byteorder", "delta/data/0", "delta/data/1", "delta/version"])
        #expect(try archive.data(named: "delta/version").data == Data("3\n".utf8))
        #expect(try archive.data(named: "delta/byteorder").data == Data("little".utf8))
        for entry in archive.entries {
            #expect(entry.method == 0)
            let data = try archive.verifiedData(named: entry.name)  // CRC-32 checked
            let offset = data.baseAddress.map { $0 - archive.bytes.baseAddress! } ?? 0
            #expect(offset % 64 == 0, "\(entry.name) starts at \(offset)")
        }
    }

    @Test func zip64ExtraFieldsRoundTrip() throws {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("big.pt").path
        let value = try Self.sample()
        try TorchCheckpoint.write(value, to: path, forceZip64: true)
        let archive = try ZipArchive(path: path)
        #expect(archive.entries.allSatisfy { $0.uncompressedSize < 0xFFFF_FFFF && $0.localHeaderOffset < 0xFFFF_FFFF })
        #expect(sameValue(try TorchCheckpoint.read(path: path), value))
    }

    @Test func failedWriteLeavesTheOldFileAndNoTemporary() throws {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keep.pt").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: TorchCheckpointError.unsupportedValue("a bytes value", path: path)) {
            try TorchCheckpoint.write(.stringDict([("x", .bytes([1, 2]))]), to: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("old".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["keep.pt"])
    }

    @Test func missingDirectoryIsAWriteError() throws {
        #expect(throws: TorchCheckpointError.self) {
            try TorchCheckpoint.write(.stringDict([]), to: "/nonexistent-dir-\(UUID().uuidString)/x.pt")
        }
    }

    @Test func overwritesAtomically() throws {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("x.pt").path
        try TorchCheckpoint.write(.stringDict([("v", .int(1))]), to: path)
        try TorchCheckpoint.write(.stringDict([("v", .int(2))]), to: path)
        #expect(sameValue(try TorchCheckpoint.read(path: path), .stringDict([("v", .int(2))])))
    }
}
