import Foundation
import Tensors
import Testing
@testable import TensorFormats

/// The allow-list unpickler on hand-made pickles (opcodes per CPython `Lib/pickle.py`), each
/// wrapped in a torch-style zip written with `ZipWriter`.
@Suite struct PickleMachineTests {
    /// Writes a checkpoint `<dir>/case.pt` whose `case/data.pkl` is `pickle` plus the given entries.
    static func read(pickle: [UInt8], entries: [(String, [UInt8])] = [], name: String = "case/data.pkl") throws -> (Result<PickleValue, Error>, String) {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("case.pt").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var zip = ZipWriter(fileDescriptor: fd, path: path)
        try zip.add(name: name, bytes: pickle)
        for (entryName, bytes) in entries { try zip.add(name: entryName, bytes: bytes) }
        try zip.finish()
        close(fd)
        return (Result { try TorchCheckpoint.read(path: path) }, path)
    }

    static func string(_ s: String) -> [UInt8] {
        [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian) { Array($0) } + Array(s.utf8)
    }
    static let proto: [UInt8] = [0x80, 0x02]

    @Test func repeatedDictKeysKeepTheLastValueInFirstPosition() throws {
        let pickle = Self.proto + [0x7D, 0x28] + Self.string("a") + [0x4B, 1] + Self.string("b") + [0x4B, 2]
            + Self.string("a") + [0x4B, 3] + [0x75, 0x2E]
        let (result, _) = try Self.read(pickle: pickle)
        #expect(sameValue(try result.get(), .stringDict([("a", .int(3)), ("b", .int(2))])))
    }

    @Test func integersOfEveryWidth() throws {
        // BININT -2, BININT2 65535, LONG1 9 bytes that sign-extend Int64.min, LONG1 0 bytes = 0.
        let pickle = Self.proto + [0x5D, 0x28, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x4D, 0xFF, 0xFF,
                                   0x8A, 9, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x8A, 0, 0x65, 0x2E]
        let (result, _) = try Self.read(pickle: pickle)
        #expect(sameValue(try result.get(), .list([.int(-2), .int(65535), .int(Int64.min), .int(0)])))
    }

    @Test func integerBeyond64BitsIsRefused() throws {
        let pickle = Self.proto + [0x8A, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x2E]
        let (result, path) = try Self.read(pickle: pickle)
        #expect(throws: TorchCheckpointError.integerTooLarge(offset: 2, path: path)) { try result.get() }
    }

    @Test func deepNestingAndSelfContainingListsAreRefused() throws {
        let depth = TorchUnpickler.maximumDepth + 10
        let deep = Self.proto + [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E]
        let (deepResult, deepPath) = try Self.read(pickle: deep)
        #expect(throws: TorchCheckpointError.nestingTooDeep(path: deepPath)) { try deepResult.get() }
        // l = []; l.append(l)
        let cyclic = Self.proto + [0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]
        let (cyclicResult, cyclicPath) = try Self.read(pickle: cyclic)
        #expect(throws: TorchCheckpointError.nestingTooDeep(path: cyclicPath)) { try cyclicResult.get() }
    }

    @Test func objectBuildingOpcodesAreRefusedByName() throws {
        for (code, name) in [(UInt8(0x69), "INST"), (0x81, "NEWOBJ"), (0x93, "STACK_GLOBAL"), (0x8C, "SHORT_BINUNICODE"), (0x49, "INT")] {
            let (result, path) = try Self.read(pickle: Self.proto + [code, 0x2E])
            #expect(throws: TorchCheckpointError.forbiddenOpcode(code, name: name, offset: 2, path: path)) { try result.get() }
        }
    }

    @Test func globalsOutsideTheListAreRefused() throws {
        for (module, name) in [("torch", "load"), ("torch._utils", "_rebuild_qtensor"), ("collections", "defaultdict"), ("builtins", "getattr")] {
            let pickle = Self.proto + [0x63] + Array("\(module)\n\(name)\n".utf8) + [0x2E]
            let (result, path) = try Self.read(pickle: pickle)
            #expect(throws: TorchCheckpointError.forbiddenGlobal(module: module, name: name, path: path)) { try result.get() }
        }
    }

    @Test func malformedStreamsAreRefused() throws {
        let cases: [[UInt8]] = [
            Self.proto + [0x73, 0x2E],                 // SETITEM on an empty stack
            Self.proto + [0x4B, 1],                    // no STOP
            Self.proto + [0x4B, 1, 0x4B, 2, 0x2E],     // two values left at STOP
            Self.proto + [0x5D, 0x4B, 1, 0x62, 0x2E],  // BUILD on a list
            Self.proto + [0x63] + Array("collections\nOrderedDict\n".utf8) + [0x4B, 1, 0x85, 0x52, 0x2E],  // OrderedDict(1)
            Self.proto + [0x68, 5, 0x2E],              // BINGET of an empty memo slot
            Self.proto + Self.string("x").dropLast(),  // string runs past the end
        ]
        for pickle in cases {
            let (result, _) = try Self.read(pickle: pickle)
            #expect(throws: TorchCheckpointError.self, "\(pickle)") { try result.get() }
            if case .failure(let error) = result, case .malformedPickle = error as? TorchCheckpointError {} else {
                Issue.record("expected malformedPickle for \(pickle), got \(result)")
            }
        }
    }

    @Test func archiveStructureIsChecked() throws {
        let empty = Self.proto + [0x7D, 0x2E]
        let (missing, missingPath) = try Self.read(pickle: empty, name: "case/other.pkl")
        #expect(throws: TorchCheckpointError.missingDataPickle(path: missingPath)) { try missing.get() }
        let (two, twoPath) = try Self.read(pickle: empty, entries: [("second/data.pkl", empty)])
        #expect(throws: TorchCheckpointError.ambiguousArchive(prefixes: ["case", "second"], path: twoPath)) { try two.get() }
        let (big, bigPath) = try Self.read(pickle: empty, entries: [("case/byteorder", Array("big".utf8))])
        #expect(throws: TorchCheckpointError.unsupportedByteOrder("big", path: bigPath)) { try big.get() }
    }

    @Test func stridedViewsAreBoundsChecked() throws {
        let storage = TorchStorage(key: "0", dtype: .int16, elementCount: 6,
                                   bytes: ByteBuffer(copying: [UInt8]([1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0])))
        // Stride 0 (expand) and a transpose.
        #expect(try storage.view(offset: 1, shape: [2, 2], strides: [0, 1], path: "p").bytes.data == Data([2, 0, 3, 0, 2, 0, 3, 0]))
        #expect(try storage.view(offset: 0, shape: [3, 2], strides: [1, 3], path: "p").bytes.data == Data([1, 0, 4, 0, 2, 0, 5, 0, 3, 0, 6, 0]))
        #expect(try storage.view(offset: 5, shape: [0, 9], strides: [9, 1], path: "p").elementCount == 0)
        for (offset, shape, strides) in [(0, [7], [1]), (-1, [2], [1]), (0, [2], [-1]), (0, [2, 2], [1]), (0, [Int.max, 2], [1, 1]), (1, [2, 3], [3, 1])] {
            #expect(throws: TorchCheckpointError.self, "\(offset) \(shape) \(strides)") {
                try storage.view(offset: offset, shape: shape, strides: strides, path: "p")
            }
        }
    }
}
