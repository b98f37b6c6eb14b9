import Foundation
import Testing
import TensorFormats

/// `concepts convert FILE OUT.safetensors [--json]` run as a process: torch checkpoints written by
/// `torch.save` (views, strides, fp16/bf16) convert bit-exactly to the golden safetensors that
/// `safetensors.torch.save_file` wrote from the contiguous tensors (tolerance 0).
@Suite struct ConvertCommandTests {
    @Test(arguments: ["views.bin", "dtypes.pt", "custom_diffusion_delta.bin", "sequential_state_dict.ckpt", "scalars.pt"])
    func convertsTorchBitExactly(file: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.safetensors").path
        let result = try runConcepts(["convert", fixturePath("torch/good/\(file)"), output, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try jsonObject(result.stdout)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber).intValue
        #expect((object["bytes"] as? NSNumber)?.intValue == size)

        let stem = String(file[..<(file.lastIndex(of: ".") ?? file.endIndex)])
        let golden = try Safetensors.read(path: fixturePath("torch/good/\(stem).golden.safetensors"))
        let converted = try Safetensors.read(path: output)
        #expect((object["tensors"] as? NSNumber)?.intValue == golden.tensors.count)
        #expect(Set(converted.tensors.map(\.name)) == Set(golden.tensors.map(\.name)))
        for (name, expected) in golden.tensors {
            let tensor = try #require(converted[name], "\(name) missing")
            #expect(tensor.dtype == expected.dtype, "\(name)")
            #expect(tensor.shape == expected.shape, "\(name)")
            #expect(tensor.bytes.data == expected.bytes.data, "\(name) bytes")
        }
    }

    @Test func textOutputSaysWhatWasWritten() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("emb.safetensors").path
        let result = try runConcepts(["convert", fixturePath("torch/good/custom_diffusion_embedding.bin"), output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("wrote 1 tensor ("))
        let converted = try Safetensors.read(path: output)
        #expect(converted.tensors.map(\.name) == ["<new1>"])
        #expect(converted["<new1>"]?.shape == [8])
    }

    @Test func safetensorsToSafetensorsKeepsTensors() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("copy.safetensors").path
        let source = fixturePath("torch/good/views.golden.safetensors")
        let result = try runConcepts(["convert", source, output, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let original = try Safetensors.read(path: source), copy = try Safetensors.read(path: output)
        #expect(copy.tensors.map(\.name).sorted() == original.tensors.map(\.name).sorted())
        for (name, tensor) in original.tensors { #expect(copy[name]?.bytes.data == tensor.bytes.data, "\(name)") }
    }

    /// Refuses what inspect refuses: exit 1, `error:` naming the file, and no output file at all.
    @Test(arguments: CLIBadFiles.all)
    func refusesBadFilesAndWritesNothing(file: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try? FileManager.default.removeItem(atPath: CLIBadFiles.marker)
        let output = directory.appendingPathComponent("out.safetensors").path
        let result = try runConcepts(["convert", fixturePath("torch/bad/\(file)"), output, "--json"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        #expect(result.stderr.contains(file), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: CLIBadFiles.marker))
    }
}
