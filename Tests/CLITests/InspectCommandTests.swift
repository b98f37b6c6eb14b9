import Foundation
import Testing
import TensorFormats

/// `concepts inspect FILE [--json]` run as a process, against the torch fixtures of
/// fixtures/generate_torch.py and their golden safetensors files.
@Suite struct InspectCommandTests {
    @Test func listsATorchCheckpointAsJSON() throws {
        let file = fixturePath("torch/good/views.bin")
        let result = try runConcepts(["inspect", file, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let object = try jsonObject(result.stdout)
        #expect(object["format"] as? String == "torch")
        #expect((object["metadata"] as? [String: Any])?.isEmpty == true)
        let tensors = try #require(object["tensors"] as? [[String: Any]])
        let golden = try Safetensors.readHeader(path: fixturePath("torch/good/views.golden.safetensors"))
        let expected = Dictionary(uniqueKeysWithValues: golden.entries.map { ($0.name, ($0.dtype.rawValue, $0.shape)) })
        #expect(tensors.count == expected.count)
        // File order, as torch.save wrote the dict.
        #expect(tensors.compactMap { $0["name"] as? String } ==
                ["row", "block", "transposed", "every_other", "column", "broadcast", "permuted", "half_transposed", "bf16_slice"])
        for tensor in tensors {
            let name = try #require(tensor["name"] as? String)
            let shape = (tensor["shape"] as? [NSNumber])?.map(\.intValue)
            #expect(expected[name]?.0 == tensor["dtype"] as? String, "\(name)")
            #expect(expected[name]?.1 == shape, "\(name)")
        }
    }

    @Test func nestedNamesAreJoinedWithDots() throws {
        let result = try runConcepts(["inspect", fixturePath("torch/good/custom_diffusion_delta.bin"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let names = try #require(try jsonObject(result.stdout)["tensors"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(names == ["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                          "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v.weight",
                          "modifier_token.<new1>", "modifier_token.<new2>"])
    }

    @Test func listsASafetensorsFile() throws {
        let result = try runConcepts(["inspect", fixturePath("torch/good/dtypes.golden.safetensors"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try jsonObject(result.stdout)
        #expect(object["format"] as? String == "safetensors")
        let dtypes = Set(try #require(object["tensors"] as? [[String: Any]]).compactMap { $0["dtype"] as? String })
        #expect(dtypes == ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"])
    }

    @Test func textOutputIsATable() throws {
        let result = try runConcepts(["inspect", fixturePath("torch/good/linear_state_dict.bin")])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasSuffix("torch, 2 tensors") == true)
        #expect(lines.contains { $0.hasPrefix("weight") && $0.contains("F32") && $0.contains("[3, 4]") && $0.hasSuffix("48") })
        #expect(lines.contains { $0.hasPrefix("bias") && $0.contains("[3]") && $0.hasSuffix("12") })
        #expect(lines.last == "total 60 bytes")
    }

    /// Every bad file: exit 1, one `error:` line naming the file on stderr, nothing on stdout —
    /// and the `os.system`/`eval` payloads never run.
    @Test(arguments: CLIBadFiles.all)
    func refusesBadFiles(file: String) throws {
        try? FileManager.default.removeItem(atPath: CLIBadFiles.marker)
        for json in [true, false] {
            let result = try runConcepts(["inspect", fixturePath("torch/bad/\(file)")] + (json ? ["--json"] : []))
            #expect(result.status == 1)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
            #expect(result.stderr.contains(file), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: CLIBadFiles.marker))
    }

    @Test func missingFileIsAnError() throws {
        let result = try runConcepts(["inspect", "/nonexistent/file.bin"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: "))
    }
}

/// The bad torch fixtures (fixtures/generate_torch.py `make_bad`).
enum CLIBadFiles {
    static let marker = "/tmp/concepts-torch-fixture-executed"
    static let all = ["os_system.pt", "eval.pt", "unknown_opcode.pt", "protocol4.pt", "legacy.pt", "garbage.bin", "empty.pt",
                      "truncated.pt", "compressed.pt", "missing_storage.pt", "short_storage.pt", "complex_storage.pt",
                      "view_out_of_bounds.pt"]
}
