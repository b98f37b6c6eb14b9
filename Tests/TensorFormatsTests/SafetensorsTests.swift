import Foundation
import Tensors
import Testing
import TensorFormats

/// Reading safetensors files written by `safetensors.torch.save_file` and `huggingface_hub`
/// (fixtures from `fixtures/generate_safetensors.py`). Values are compared exactly (bit for bit;
/// NaN as NaN): widening fp16/bf16/f32 to Float64 is exact, so no tolerance is needed.
@Suite("Safetensors reading")
struct SafetensorsTests {
    let golden: SafetensorsFixtures.AllDTypes

    init() throws { golden = try SafetensorsFixtures.allDTypes() }

    @Test("every dtype, rank, 0-d and empty tensor matches torch's values and bytes")
    func allDTypesMatchGolden() throws {
        let archive = try Safetensors.read(path: SafetensorsFixtures.path("all_dtypes.safetensors"))
        #expect(archive.format == .safetensors)
        #expect(Set(archive.tensors.map(\.name)) == Set(golden.tensors.keys))
        #expect(archive.tensors.count == golden.tensors.count)
        #expect(Set(archive.tensors.map(\.tensor.dtype)) == Set(DType.allCases))

        for (name, tensor) in archive.tensors {
            let expected = try #require(golden.tensors[name])
            #expect(tensor.dtype.safetensorsName == expected.dtype, "\(name)")
            #expect(tensor.shape == expected.shape, "\(name)")
            #expect(SafetensorsFixtures.bytes(of: tensor) == expected.rawBytes, "\(name)")
            #expect(tensor.elementCount == expected.values.count, "\(name)")
            if tensor.dtype.isFloatingPoint {
                let values = try tensor.doubles()
                for (actual, want) in zip(values, expected.values.map(\.double)) {
                    let want = try #require(want)
                    if want.isNaN {
                        #expect(actual.isNaN, "\(name)")
                    } else {
                        #expect(actual.bitPattern == want.bitPattern, "\(name): \(actual) vs \(want)")  // ±0 distinguished
                    }
                }
            } else {
                let values = try #require(SafetensorsFixtures.integers(tensor))
                #expect(values == expected.values.map { $0.integer ?? .min }, "\(name)")
            }
        }
    }

    @Test("0-d tensors have shape [] and one element; empty tensors have no bytes")
    func scalarsAndEmpty() throws {
        let archive = try Safetensors.read(path: SafetensorsFixtures.path("all_dtypes.safetensors"))
        let scalar = try #require(archive["f32.scalar"])
        #expect(scalar.shape == [])
        #expect(try scalar.floats() == [3.25])
        #expect(try #require(archive["f16.scalar"]).floats() == [-2.5])
        #expect(SafetensorsFixtures.integers(try #require(archive["i64.scalar"])) == [-42])
        #expect(SafetensorsFixtures.integers(try #require(archive["bool.scalar"])) == [1])
        for name in ["f32.empty", "bf16.empty", "i8.empty"] {
            let empty = try #require(archive[name])
            #expect(empty.byteCount == 0 && empty.elementCount == 0, "\(name)")
        }
        #expect(try #require(archive["i8.empty"]).shape == [2, 0, 3])
    }

    @Test("tensors come in file (data offset) order")
    func fileOrder() throws {
        let archive = try Safetensors.read(path: SafetensorsFixtures.path("all_dtypes.safetensors"))
        let bases = archive.tensors.compactMap { $0.tensor.byteCount > 0 ? $0.tensor.bytes.baseAddress : nil }
        #expect(bases == bases.sorted())
        // The Rust writer puts the widest dtype first.
        #expect(archive.tensors.first?.tensor.dtype == .int64)
        #expect(archive.tensors.last?.tensor.dtype == .bool)
    }

    @Test("tensors point into the caller's buffer (zero-copy)")
    func zeroCopy() throws {
        let buffer = ByteBuffer(copying: try SafetensorsFixtures.bytes("all_dtypes.safetensors"))
        let archive = try Safetensors.read(bytes: buffer, source: "all_dtypes")
        let start = try #require(buffer.baseAddress)
        for (name, tensor) in archive.tensors where tensor.byteCount > 0 {
            let base = try #require(tensor.bytes.baseAddress)
            #expect(base >= start && base + tensor.byteCount <= start + buffer.count, "\(name)")
        }
        // The header length is read as a little-endian u64; data begins right after it.
        let headerLength = buffer.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let first = try #require(archive.tensors.first?.tensor.bytes.baseAddress)
        #expect(first == start + 8 + headerLength)
    }

    @Test("__metadata__ is kept, escapes and non-ASCII included")
    func metadataKept() throws {
        let expected = try JSONDecoder().decode([String: String].self, from: SafetensorsFixtures.bytes("metadata.json"))
        let archive = try Safetensors.read(path: SafetensorsFixtures.path("metadata.safetensors"))
        #expect(archive.metadata == expected)
        #expect(archive.metadata["unicode"] == "café ∑ 🎨")
        #expect(try #require(archive["x"]).floats() == [1.5])
        #expect(try Safetensors.read(path: SafetensorsFixtures.path("all_dtypes.safetensors")).metadata == ["format": "pt"])
    }

    @Test("readHeader lists what read finds, without mapping the data")
    func headerOnly() throws {
        for file in ["all_dtypes.safetensors", "metadata.safetensors"] {
            let path = SafetensorsFixtures.path(file)
            let archive = try Safetensors.read(path: path)
            let header = try Safetensors.readHeader(path: path)
            #expect(header.entries.map(\.name) == archive.tensors.map(\.name))
            #expect(header.entries.map(\.dtype) == archive.tensors.map(\.tensor.dtype))
            #expect(header.entries.map(\.shape) == archive.tensors.map(\.tensor.shape))
            #expect(header.metadata == archive.metadata)
        }
    }

    @Test("a missing file is a typed error naming it")
    func missingFile() throws {
        let path = SafetensorsFixtures.path("does-not-exist.safetensors")
        #expect(throws: SafetensorsError.cannotRead(path: path, reason: "No such file or directory")) {
            try Safetensors.read(path: path)
        }
        #expect(throws: SafetensorsError.cannotRead(path: path, reason: "No such file or directory")) {
            try Safetensors.readHeader(path: path)
        }
    }

    // MARK: Sharded

    @Test("a sharded checkpoint (huggingface_hub layout) reads as one archive")
    func sharded() throws {
        let expected = try JSONDecoder().decode(
            [String: SafetensorsFixtures.Tensor].self, from: SafetensorsFixtures.bytes("sharded.json"))
        let archive = try Safetensors.readSharded(indexPath: SafetensorsFixtures.path("sharded/model.safetensors.index.json"))
        #expect(archive.tensors.count == expected.count)
        #expect(Set(archive.tensors.map(\.name)) == Set(expected.keys))
        for (name, tensor) in archive.tensors {
            let want = try #require(expected[name])
            #expect(tensor.dtype.safetensorsName == want.dtype && tensor.shape == want.shape, "\(name)")
            #expect(SafetensorsFixtures.bytes(of: tensor) == want.rawBytes, "\(name)")
        }
        // Index metadata (numbers as their JSON text), then the shards' own __metadata__.
        #expect(archive.metadata == ["total_size": "150", "format": "pt"])
        // Shards in file-name order: the first shard's tensors come first.
        let first = try Safetensors.read(path: SafetensorsFixtures.path("sharded/model-00001-of-00003.safetensors"))
        #expect(Array(archive.tensors.prefix(first.tensors.count).map(\.name)) == first.tensors.map(\.name))
    }
}
