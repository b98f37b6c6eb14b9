import Foundation
import Tensors
import Testing
import TensorFormats

/// The writer: byte-identical to `safetensors.torch.save_file`, bit-exact round trips, atomic writes.
@Suite("Safetensors writing")
struct SafetensorsWriterTests {
    @Test("encoding torch's inputs reproduces save_file's output byte for byte")
    func byteIdenticalToSaveFile() throws {
        let golden = try SafetensorsFixtures.allDTypes()
        // Inputs by name, not in file order (which starts with I64): the writer must sort them as the Rust crate does.
        let names = golden.tensors.keys.sorted()
        let tensors = try names.map { name in (name: name, tensor: try #require(golden.tensors[name]).rawTensor()) }
        let encoded = try Safetensors.encode(tensors, metadata: golden.metadata)
        let expected = try SafetensorsFixtures.bytes("all_dtypes.safetensors")
        #expect(encoded == expected)
        #expect(try Safetensors.encode(tensors.reversed(), metadata: golden.metadata) == expected)
    }

    @Test("read → encode is the identity on a save_file output")
    func rereadReencode() throws {
        let path = SafetensorsFixtures.path("all_dtypes.safetensors")
        let archive = try Safetensors.read(path: path)
        #expect(try Safetensors.encode(archive.tensors, metadata: archive.metadata) == SafetensorsFixtures.bytes("all_dtypes.safetensors"))
    }

    @Test("encode → read is bit-exact for every dtype, 0-d and empty tensors, and metadata")
    func roundTrip() throws {
        var tensors: [(name: String, tensor: RawTensor)] = []
        for (i, dtype) in DType.allCases.enumerated() {
            for shape in [[], [0], [3], [2, 3], [2, 0, 4]] {
                let count = shape.reduce(1, *) * dtype.byteSize
                // Every byte pattern is a valid element bit pattern (NaN payloads included), except BOOL: 0/1.
                let bytes = (0..<count).map { UInt8(truncatingIfNeeded: dtype == .bool ? ($0 + i) % 2 : $0 &* 37 &+ i &* 11) }
                tensors.append(("\(dtype.safetensorsName).\(shape.map(String.init).joined(separator: "x"))",
                                try RawTensor(dtype: dtype, shape: shape, bytes: ByteBuffer(copying: bytes))))
            }
        }
        let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t nul \u{0} é 🎨", "": "empty key"]
        let encoded = try Safetensors.encode(tensors, metadata: metadata)
        let archive = try Safetensors.read(bytes: ByteBuffer(copying: encoded), source: "round trip")
        #expect(archive.metadata == metadata)
        #expect(archive.tensors.count == tensors.count)
        let read = archive.byName
        for (name, tensor) in tensors {
            let back = try #require(read[name], "\(name)")
            #expect(back.dtype == tensor.dtype && back.shape == tensor.shape, "\(name)")
            #expect(SafetensorsFixtures.bytes(of: back) == SafetensorsFixtures.bytes(of: tensor), "\(name)")
        }
    }

    @Test("header is padded with spaces to 8 bytes and every tensor is aligned to its element size")
    func paddingAndAlignment() throws {
        let tensors: [(name: String, tensor: RawTensor)] = [
            ("a", try RawTensor.from(floats: [1, 2, 3], shape: [3], as: .float16)),
            ("b", try RawTensor(dtype: .uint8, shape: [1], bytes: ByteBuffer(copying: [7] as [UInt8]))),
            ("c", try RawTensor.from(doubles: [1], shape: [1])),
        ]
        let encoded = try Safetensors.encode(tensors, metadata: [:])
        let length = encoded.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        #expect(length % 8 == 0)
        let header = String(decoding: encoded[8..<8 + length], as: UTF8.self)
        #expect(header == #"{"c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F16","shape":[3],"data_offsets":[8,14]},"#
            + #""b":{"dtype":"U8","shape":[1],"data_offsets":[14,15]}}"# + String(repeating: " ", count: 6))
        #expect(encoded.count == 8 + length + 15)
        // No tensors: `{}` padded to 8 bytes, as the crate writes it.
        #expect(try Safetensors.encode([], metadata: [:]) == Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8)))
    }

    @Test("metadata keys are written in sorted order")
    func metadataOrder() throws {
        let encoded = try Safetensors.encode([], metadata: ["z": "1", "a": "2", "m": "3"])
        #expect(String(decoding: encoded.dropFirst(8), as: UTF8.self).hasPrefix(#"{"__metadata__":{"a":"2","m":"3","z":"1"}}"#))
    }

    @Test("duplicate and reserved names are refused")
    func badNames() throws {
        let t = try RawTensor.from(floats: [1], shape: [1])
        #expect(throws: SafetensorsError.duplicateName(path: "<memory>", name: "w")) {
            try Safetensors.encode([("w", t), ("v", t), ("w", t)], metadata: [:])
        }
        #expect(throws: SafetensorsError.invalidTensorName(
            path: "<memory>", name: "__metadata__", reason: "the name __metadata__ is reserved for the header's metadata")) {
            try Safetensors.encode([("__metadata__", t)], metadata: [:])
        }
    }

    @Test("write is atomic: same bytes as encode, replaces the target, leaves no temporary file")
    func atomicWrite() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-write-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out.safetensors").path
        try Data("old contents".utf8).write(to: URL(fileURLWithPath: path))

        let tensors: [(name: String, tensor: RawTensor)] = [("w", try RawTensor.from(floats: [1, -2, 3.5], shape: [3], as: .bfloat16))]
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Safetensors.encode(tensors, metadata: ["format": "pt"]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.safetensors"])
        #expect(try Safetensors.read(path: path)["w"]?.floats() == [1, -2, 3.5])

        let missing = directory.appendingPathComponent("no/such/dir/x.safetensors").path
        #expect {
            try Safetensors.write(tensors, metadata: [:], to: missing)
        } throws: { error in
            guard case .cannotWrite(let p, _) = error as? SafetensorsError else { return false }
            return p == missing
        }
    }
}
