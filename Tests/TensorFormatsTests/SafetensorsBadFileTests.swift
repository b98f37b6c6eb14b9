import Foundation
import Tensors
import Testing
import TensorFormats

/// One invalid fixture (`fixtures/safetensors/bad/`) and the exact error it must raise.
struct BadFileCase: Sendable, CustomTestStringConvertible {
    let file: String
    let expected: @Sendable (_ path: String) -> SafetensorsError
    var testDescription: String { file }
}

/// Every invalid file is refused with its specific `SafetensorsError` case and context — by the
/// mapped reader, by the in-memory reader, and by the header-only reader alike. The generator
/// prints which of these the reference reader (`safetensors.torch.load`) also rejects: all but
/// `unknown_dtype` (F8_E4M3, which this project does not support) and `extra_entry_key`.
@Suite("Safetensors bad files")
struct SafetensorsBadFileTests {
    static let files: [BadFileCase] = [
        BadFileCase(file: "too_small") { .fileTooSmall(path: $0, size: 5) },
        // save({"a": F32[4], "b": I16[2]}) less its last 3 bytes: b's data runs past the end.
        BadFileCase(file: "truncated") { .dataOutOfBounds(path: $0, tensor: "b", end: 20, available: 17) },
        BadFileCase(file: "header_too_large") { .headerTooLarge(path: $0, length: 100_000_001) },
        BadFileCase(file: "huge_header_length") { .headerTooLarge(path: $0, length: 0xFFFF_FFFF_FFFF_FFF0) },
        BadFileCase(file: "header_past_end") { .headerOutOfBounds(path: $0, length: 64, fileSize: 61) },
        BadFileCase(file: "not_json") { .invalidJSON(path: $0, reason: "unexpected character 't' at byte 0") },
        BadFileCase(file: "trailing_json") { .invalidJSON(path: $0, reason: "unexpected text after the JSON value at byte 3") },
        BadFileCase(file: "header_not_object") { .headerNotObject(path: $0) },
        BadFileCase(file: "header_not_utf8") { .headerNotUTF8(path: $0) },
        BadFileCase(file: "garbage") { .headerNotUTF8(path: $0) },
        BadFileCase(file: "duplicate_names") { .duplicateName(path: $0, name: "w") },
        BadFileCase(file: "unknown_dtype") { .unknownDType(path: $0, tensor: "a", dtype: "F8_E4M3") },
        BadFileCase(file: "overlapping_offsets") { .offsetsNotContiguous(path: $0, tensor: "b", expected: 8, found: 4) },
        BadFileCase(file: "gap_offsets") { .offsetsNotContiguous(path: $0, tensor: "b", expected: 4, found: 8) },
        BadFileCase(file: "not_starting_at_zero") { .offsetsNotContiguous(path: $0, tensor: "a", expected: 0, found: 4) },
        BadFileCase(file: "short_offsets") { .byteLengthMismatch(path: $0, tensor: "a", expected: 16, actual: 8) },
        BadFileCase(file: "reversed_offsets") { .invalidDataOffsets(path: $0, tensor: "a", start: 4, end: 0) },
        BadFileCase(file: "offsets_out_of_bounds") { .dataOutOfBounds(path: $0, tensor: "a", end: 16, available: 8) },
        BadFileCase(file: "trailing_bytes") { .bufferNotCovered(path: $0, covered: 4, available: 8) },
        BadFileCase(file: "negative_shape") {
            .invalidEntry(path: $0, tensor: "a", reason: "shape holds the integer -1, not an integer ≥ 0")
        },
        BadFileCase(file: "shape_overflow") { .shapeTooLarge(path: $0, tensor: "a", shape: [1 << 40, 1 << 40]) },
        BadFileCase(file: "float_offsets") {
            .invalidEntry(path: $0, tensor: "a", reason: "data_offsets holds the number 4.0, not an integer ≥ 0")
        },
        BadFileCase(file: "missing_offsets") {
            .invalidEntry(path: $0, tensor: "a", reason: "expected exactly the keys dtype, shape, data_offsets; found dtype, shape")
        },
        BadFileCase(file: "extra_entry_key") {
            .invalidEntry(
                path: $0, tensor: "a", reason: "expected exactly the keys dtype, shape, data_offsets; found dtype, shape, data_offsets, strides")
        },
        BadFileCase(file: "metadata_not_strings") {
            .invalidMetadata(path: $0, reason: "value of \"n\" is the integer 1, not a string")
        },
    ]

    @Test("each bad file raises its specific error", arguments: files)
    func badFile(_ bad: BadFileCase) throws {
        let path = SafetensorsFixtures.path("bad/\(bad.file).safetensors")
        #expect(throws: bad.expected(path)) { try Safetensors.read(path: path) }
        #expect(throws: bad.expected(path)) { try Safetensors.readHeader(path: path) }
        let bytes = ByteBuffer(copying: try SafetensorsFixtures.bytes("bad/\(bad.file).safetensors"))
        #expect(throws: bad.expected("in-memory \(bad.file)")) {
            try Safetensors.read(bytes: bytes, source: "in-memory \(bad.file)")
        }
    }

    @Test("every file in bad/ has a case")
    func everyBadFileCovered() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: SafetensorsFixtures.path("bad"))
            .filter { $0.hasSuffix(".safetensors") && $0 != "shard.safetensors" }
            .map { String($0.dropLast(".safetensors".count)) }
        #expect(Set(names) == Set(Self.files.map(\.file)))
    }

    @Test("errors read as sentences naming the file and tensor")
    func descriptions() {
        let error = SafetensorsError.offsetsNotContiguous(path: "/x/m.safetensors", tensor: "b", expected: 8, found: 4)
        let text = error.localizedDescription
        #expect(text.contains("/x/m.safetensors") && text.contains("\"b\"") && text.contains("8") && text.contains("4"))
        #expect(SafetensorsError.unknownDType(path: "f", tensor: "t", dtype: "C64").localizedDescription.contains("BF16"))
    }

    // MARK: Sharded indexes

    static let indexes: [BadFileCase] = [
        // These name the shard, not the index.
        BadFileCase(file: "missing_tensor") { _ in
            .missingTensorInShard(path: SafetensorsFixtures.path("bad/shard.safetensors"), tensor: "not.in.shard")
        },
        BadFileCase(file: "unlisted_tensor") { _ in
            .tensorNotInIndex(path: SafetensorsFixtures.path("bad/shard.safetensors"), tensor: "layers.0.weight")
        },
        BadFileCase(file: "escaping_shard") { .invalidShardName(path: $0, shard: "../sharded/model-00001-of-00003.safetensors") },
        BadFileCase(file: "missing_shard") { _ in
            .cannotRead(path: SafetensorsFixtures.path("bad/absent.safetensors"), reason: "No such file or directory")
        },
        BadFileCase(file: "no_weight_map") { .invalidIndex(path: $0, reason: "expected exactly one \"weight_map\" object") },
        BadFileCase(file: "duplicate_entry") { .duplicateName(path: $0, name: "layers.0.weight") },
    ]

    @Test("each bad sharded index raises its specific error", arguments: indexes)
    func badIndex(_ bad: BadFileCase) {
        let path = SafetensorsFixtures.path("bad/\(bad.file).safetensors.index.json")
        #expect(throws: bad.expected(path)) { try Safetensors.readSharded(indexPath: path) }
    }
}
