import Foundation
import Testing
@testable import TensorFormats

/// Every bad file from fixtures/generate_torch.py is refused with its specific typed error, and
/// nothing in a file ever runs: the `os.system` and `eval` payloads would create the marker file.
@Suite(.serialized) struct TorchCheckpointRefusalTests {
    static let marker = "/tmp/concepts-torch-fixture-executed"

    func refusal(_ file: String) -> Error? {
        do {
            _ = try TorchCheckpoint.read(path: TorchFixtures.bad(file))
            return nil
        } catch { return error }
    }

    @Test func osSystemPayloadIsRefusedAndNeverRuns() throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        let error = refusal("os_system.pt")
        #expect(error as? TorchCheckpointError == .forbiddenGlobal(module: "posix", name: "system", path: TorchFixtures.bad("os_system.pt")))
        #expect((error as? LocalizedError)?.errorDescription?.contains("posix.system") == true)
        // TensorFile (what inspect/convert use) refuses it the same way.
        #expect(throws: TorchCheckpointError.self) { try TensorFile.read(path: TorchFixtures.bad("os_system.pt")) }
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test func evalPayloadIsRefusedAndNeverRuns() throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        #expect(refusal("eval.pt") as? TorchCheckpointError == .forbiddenGlobal(module: "__builtin__", name: "eval", path: TorchFixtures.bad("eval.pt")))
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test func unknownOpcodeIsNamedWithItsOffset() {
        // PROTO 2 takes bytes 0–1; the 0xFE byte was inserted at offset 2.
        #expect(refusal("unknown_opcode.pt") as? TorchCheckpointError
                == .forbiddenOpcode(0xFE, name: "unknown", offset: 2, path: TorchFixtures.bad("unknown_opcode.pt")))
    }

    @Test func protocol4IsRefused() {
        #expect(refusal("protocol4.pt") as? TorchCheckpointError == .unsupportedProtocol(4, path: TorchFixtures.bad("protocol4.pt")))
    }

    @Test func legacyNonZipFileIsNamedAsSuch() {
        let path = TorchFixtures.bad("legacy.pt")
        #expect(refusal("legacy.pt") as? TorchCheckpointError == .legacyFormat(path: path))
        #expect(throws: TorchCheckpointError.legacyFormat(path: path)) { try TensorFile.read(path: path) }
    }

    @Test func garbageAndEmptyFilesAreNotZip() {
        #expect(refusal("garbage.bin") as? TorchCheckpointError == .notZip(path: TorchFixtures.bad("garbage.bin")))
        #expect(refusal("empty.pt") as? TorchCheckpointError == .notZip(path: TorchFixtures.bad("empty.pt")))
    }

    @Test func truncatedZipHasNoCentralDirectory() {
        #expect(refusal("truncated.pt") as? ZipArchiveError == .missingEndOfCentralDirectory(path: TorchFixtures.bad("truncated.pt")))
    }

    @Test func compressedEntryIsRefused() {
        #expect(refusal("compressed.pt") as? ZipArchiveError
                == .compressedEntry(name: "plain_source/data.pkl", method: 8, path: TorchFixtures.bad("compressed.pt")))
    }

    @Test func missingAndShortStoragesAreRefused() {
        #expect(refusal("missing_storage.pt") as? TorchCheckpointError == .missingStorage(key: "0", path: TorchFixtures.bad("missing_storage.pt")))
        #expect(refusal("short_storage.pt") as? TorchCheckpointError
                == .storageTooSmall(key: "0", expectedBytes: 24, actualBytes: 8, path: TorchFixtures.bad("short_storage.pt")))
    }

    @Test func storageClassOutsideTheListIsRefused() {
        #expect(refusal("complex_storage.pt") as? TorchCheckpointError
                == .forbiddenGlobal(module: "torch", name: "ComplexFloatStorage", path: TorchFixtures.bad("complex_storage.pt")))
    }

    @Test func viewPastTheStorageIsRefused() {
        #expect(refusal("view_out_of_bounds.pt") as? TorchCheckpointError
                == .viewOutOfBounds(key: "0", offset: 4, shape: [2, 3], strides: [3, 1], storageElements: 6,
                                    path: TorchFixtures.bad("view_out_of_bounds.pt")))
    }

    @Test func everyErrorNamesTheFile() {
        let files = ["os_system.pt", "eval.pt", "unknown_opcode.pt", "protocol4.pt", "legacy.pt", "garbage.bin", "empty.pt",
                     "truncated.pt", "compressed.pt", "missing_storage.pt", "short_storage.pt", "complex_storage.pt",
                     "view_out_of_bounds.pt"]
        for file in files {
            let message = (refusal(file) as? LocalizedError)?.errorDescription ?? ""
            #expect(message.contains(file), "\(file): \(message)")
        }
    }
}

@Suite struct TensorFileDetectionTests {
    @Test func torchNamedGarbageIsNotZip() {
        #expect(throws: TorchCheckpointError.notZip(path: TorchFixtures.bad("garbage.bin"))) {
            try TensorFile.read(path: TorchFixtures.bad("garbage.bin"))
        }
        #expect(throws: TorchCheckpointError.notZip(path: TorchFixtures.bad("empty.pt"))) {
            try TensorFile.read(path: TorchFixtures.bad("empty.pt"))
        }
    }

    @Test func safetensorsContentIsReadWhateverTheName() throws {
        let directory = try TorchFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let renamed = directory.appendingPathComponent("weights.bin")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: TorchFixtures.good("dtypes.golden.safetensors")), to: renamed)
        let archive = try TensorFile.read(path: renamed.path)
        #expect(archive.format == .safetensors)
        #expect(archive.tensors.count == 10)
    }
}
