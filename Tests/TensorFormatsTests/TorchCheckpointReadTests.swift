import Foundation
import Tensors
import Testing
@testable import TensorFormats

/// Every checkpoint written by `torch.save` in fixtures/generate_torch.py reads back as the value
/// `torch.load(weights_only=True)` returns there: same structure, keys, order, scalars, and
/// tensors bit-exact (tolerance 0) after making views contiguous.
@Suite struct TorchCheckpointReadTests {
    @Test(arguments: TorchFixtures.goodFiles)
    func matchesGoldenTree(file: String) throws {
        let value = try TorchCheckpoint.read(path: TorchFixtures.good(file))
        expectMatchesGolden(value, try TorchFixtures.goldenTree(file))
    }

    /// `TensorFile` flattens with `.` exactly as the golden safetensors file (written by
    /// `safetensors.torch.save_file`) names the tensors, in file order.
    @Test(arguments: TorchFixtures.goodFiles)
    func flattenedNamesMatchGoldenSafetensors(file: String) throws {
        let archive = try TensorFile.read(path: TorchFixtures.good(file))
        #expect(archive.format == .torch)
        #expect(archive.metadata.isEmpty)
        let golden = try Safetensors.read(path: TorchFixtures.good(TorchFixtures.goldenStem(file) + ".golden.safetensors"))
        #expect(Set(archive.tensors.map(\.name)) == Set(golden.tensors.map(\.name)))
        for (name, tensor) in archive.tensors {
            let expected = try #require(golden[name], "\(name) missing from golden")
            #expect(tensor.dtype == expected.dtype, "\(name)")
            #expect(tensor.shape == expected.shape, "\(name)")
            #expect(tensor.bytes.data == expected.bytes.data, "\(name) bytes")
        }
    }

    /// A Custom Diffusion token embedding saved as `weight[60]` of a 64×8 embedding: the file holds
    /// the whole 512-element storage, and only row 60 comes back.
    @Test func customDiffusionEmbeddingViewIsJustTheRow() throws {
        let path = TorchFixtures.good("custom_diffusion_embedding.bin")
        let archive = try ZipArchive(path: path)
        let storage = try #require(archive.entries.first { $0.name.hasSuffix("/data/0") })
        #expect(storage.uncompressedSize == 64 * 8 * 4)
        let value = try TorchCheckpoint.read(path: path)
        guard case .tensor(let embedding)? = value["<new1>"] else { Issue.record("no tensor"); return }
        #expect(embedding.shape == [8])
        #expect(embedding.byteCount == 32)
        #expect(embedding.dtype == .float32)
    }

    @Test func viewsKeepTheirValues() throws {
        // big = arange(40).reshape(5, 8) / 4 - 3, so big[r, c] = (8r + c) / 4 - 3.
        let value = try TorchCheckpoint.read(path: TorchFixtures.good("views.bin"))
        func floats(_ key: String) throws -> [Float] {
            guard case .tensor(let t)? = value[key] else { throw TorchCheckpointError.missingStorage(key: key, path: "") }
            return try t.floats()
        }
        let big = { (r: Int, c: Int) in Float(8 * r + c) / 4 - 3 }
        #expect(try floats("row") == (0..<8).map { big(3, $0) })
        #expect(try floats("column") == (0..<5).map { big($0, 5) })
        #expect(try floats("transposed") == (0..<8).flatMap { c in (0..<5).map { r in big(r, c) } })
        #expect(try floats("every_other") == (0..<5).flatMap { r in stride(from: 0, to: 8, by: 2).map { big(r, $0) } })
        #expect(try floats("block") == (1..<4).flatMap { r in (2..<7).map { big(r, $0) } })
        #expect(try floats("broadcast") == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    }

    @Test func stateDictIsOrderedAndMetadataIgnored() throws {
        let value = try TorchCheckpoint.read(path: TorchFixtures.good("linear_state_dict.bin"))
        guard case .dict(let entries, let ordered) = value else { Issue.record("not a dict"); return }
        #expect(ordered)
        #expect(entries.map(\.key).compactMap { if case .string(let s) = $0 { s } else { nil } } == ["weight", "bias"])
    }

    @Test func archivePrefixIsFoundNotAssumed() throws {
        for (file, prefix) in [("through_buffer.pt", "archive/"), ("nested.pt", "nested/"), ("linear_state_dict.bin", "linear_state_dict/")] {
            let archive = try ZipArchive(path: TorchFixtures.good(file))
            #expect(try TorchCheckpoint.archivePrefix(archive) == prefix)
        }
    }

    /// The golden comparison itself notices a wrong value, a wrong byte and a wrong order.
    @Test func goldenComparisonDetectsDifferences() throws {
        let golden = try TorchFixtures.goldenTree("linear_state_dict.bin")
        let value = try TorchCheckpoint.read(path: TorchFixtures.good("linear_state_dict.bin"))
        guard case .dict(let entries, let ordered) = value, case .tensor(let weight) = entries[0].value else {
            Issue.record("unexpected shape of linear_state_dict")
            return
        }
        var flipped = [UInt8](weight.bytes.data)
        flipped[0] ^= 1
        let changed = PickleValue.dict([(entries[0].key, .tensor(try RawTensor(dtype: weight.dtype, shape: weight.shape,
                                                                               bytes: ByteBuffer(copying: flipped)))), entries[1]],
                                       ordered: ordered)
        withKnownIssue { expectMatchesGolden(changed, golden) }
        withKnownIssue { expectMatchesGolden(.dict(entries.reversed(), ordered: ordered), golden) }
        withKnownIssue { expectMatchesGolden(.dict(entries, ordered: false), golden) }
        withKnownIssue { expectMatchesGolden(.int(1), ["int": 2]) }
    }

    @Test func missingFileIsAnOpenError() {
        #expect(throws: MappedFile.Failure.self) { try TorchCheckpoint.read(path: "/nonexistent/dir/file.pt") }
    }
}
