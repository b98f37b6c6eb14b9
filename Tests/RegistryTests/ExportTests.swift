import CustomDiffusion
import Foundation
import Tensors
import Testing
import TensorFormats
@testable import Registry

@Suite("export")
struct ExportTests {
    func exported(backend: TestBackend = .local, _ format: ExportFormat, policy: String = "lossless") throws -> (TestStore, URL, ExportResult) {
        let t = try TestStore.withTinyBase(backend: backend)
        _ = try t.register("cat", "cat-diffusers", policy: policy)
        let out = t.root.appendingPathComponent("export-\(format.rawValue)")
        let result = try t.store.export(ConceptReference(name: "cat"), format: format, to: out)
        return (t, out, result)
    }

    @Test("diffusers: the trainer's own file comes back bit for bit (lossless)", arguments: TestBackend.available)
    func diffusers(backend: TestBackend) throws {
        let (t, out, result) = try exported(backend: backend, .diffusers)
        defer { withExtendedLifetime(t) {} }
        #expect(Set(result.files.map { URL(fileURLWithPath: $0).lastPathComponent }) == ["pytorch_custom_diffusion_weights.safetensors", "<new1>.safetensors"])
        let original = try Safetensors.read(path: SDTiny.concept("cat-diffusers/pytorch_custom_diffusion_weights.safetensors").path).byName
        let written = try Safetensors.read(path: out.appendingPathComponent("pytorch_custom_diffusion_weights.safetensors").path).byName
        #expect(Set(written.keys) == Set(original.keys))
        for (name, tensor) in original {
            #expect(written[name]?.bytes.data == tensor.bytes.data, "\(name)")
        }
        let embedding = try Safetensors.read(path: out.appendingPathComponent("<new1>.safetensors").path)
        let originalEmbedding = try Safetensors.read(path: SDTiny.concept("cat-diffusers/<new1>.safetensors").path)
        #expect(embedding["<new1>"]?.bytes.data == originalEmbedding["<new1>"]?.bytes.data)
    }

    @Test("lora: kohya keys whose up·down is the stored ΔW, alpha = rank", arguments: TestBackend.available)
    func lora(backend: TestBackend) throws {
        let (t, out, _) = try exported(backend: backend, .lora, policy: "rank:2")
        let lora = try Safetensors.read(path: out.appendingPathComponent(ConceptExporter.loraFileName).path).byName
        let deltas = try t.store.deltas(versionID: try t.store.resolve(ConceptReference(name: "cat")).versionID)
        #expect(lora.count == 32 * 3)
        for (key, delta) in deltas {
            let module = LayerNaming.kohyaModuleName(key)
            #expect(module.hasPrefix("lora_unet_") && !module.contains("."))
            let up = try #require(lora["\(module).lora_up.weight"]).matrix()
            let down = try #require(lora["\(module).lora_down.weight"]).matrix()
            let alpha = try #require(lora["\(module).alpha"]).floats()
            #expect(alpha == [Float(up.cols)])
            let product = Matrix.matmul(up, down)
            let stored = try delta.reconstruct()
            #expect((product - stored).maxAbs <= 1e-6 * max(1, stored.maxAbs), "\(key)")
        }
    }

    @Test("compvis and adobe: torch zip files holding W′ under their own names")
    func torchFormats() throws {
        let originals = try Safetensors.read(path: SDTiny.concept("cat-diffusers/pytorch_custom_diffusion_weights.safetensors").path).byName
        for format in [ExportFormat.compvis, .adobe] {
            let (t, out, result) = try exported(format)
            defer { withExtendedLifetime(t) {} }
            let file = try #require(result.files.first { $0.hasSuffix(".ckpt") || $0.hasSuffix(".bin") })
            let value = try TorchCheckpoint.read(path: file)
            let tensors = Dictionary(value.flattenedTensors().map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
            for (name, tensor) in originals {
                guard let key = LayerNaming.parse(weightName: name) else { Issue.record("unparsable \(name)"); continue }
                let exportedName = format == .compvis ? "state_dict." + (LayerNaming.compvisParameterName(key) ?? "?") : "unet." + LayerNaming.parameterName(key)
                #expect(tensors[exportedName]?.bytes.data == tensor.bytes.data, "\(format) \(exportedName)")
            }
            let embed = format == .compvis ? tensors["state_dict.embed"] : tensors["modifier_token.<new1>"]
            #expect(embed != nil, "\(format) embedding")
            _ = out
        }
    }

    @Test("an unknown reference exports nothing", arguments: TestBackend.available)
    func unknown(backend: TestBackend) throws {
        let t = try TestStore.withTinyBase(backend: backend)
        let out = t.root.appendingPathComponent("nothing")
        #expect(throws: RegistryError.unknownConcept("ghost")) { try t.store.export(ConceptReference(name: "ghost"), format: .diffusers, to: out) }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}

@Suite("verify and gc")
struct MaintenanceTests {
    @Test("verify finds corrupt and missing blobs; gc removes only unreferenced ones", arguments: TestBackend.withLocalBlobs)
    func verifyAndGC(backend: TestBackend) throws {
        let t = try TestStore.withTinyBase(backend: backend)
        _ = try t.register("cat", "cat-diffusers")
        #expect(try t.store.verify().problems.isEmpty)
        // An unreferenced blob (what a killed writer leaves) is not a problem, and gc removes it.
        let orphan = try t.store.blobs.put(Data("orphan".utf8))
        #expect(try t.store.verify().problems.isEmpty)
        let before = try t.store.blobs.allHashes().count
        #expect(try t.store.collectGarbage().blobsRemoved == 0, "a fresh orphan is within the grace period")
        let gc = try t.store.collectGarbage(gracePeriod: 0)
        #expect(gc.blobsRemoved == 1 && gc.bytesFreed == orphan.storedSize)
        #expect(try t.store.blobs.allHashes().count == before - 1)
        #expect(try t.store.verify().problems.isEmpty)
        // Corrupt one referenced blob and delete another.
        let hashes = try t.store.blobs.allHashes()
        try BlobStore.compress(Data("tampered".utf8).withUnsafeBytes { $0 }, level: 3).write(to: #require(t.store.blobs.localPath(for: hashes[0])))
        try FileManager.default.removeItem(at: #require(t.store.blobs.localPath(for: hashes[1])))
        let report = try t.store.verify()
        #expect(report.problems.count == 2)
        #expect(report.problems.contains { $0.contains(hashes[0]) && $0.contains("corrupt") })
        #expect(report.problems.contains { $0.contains(hashes[1]) && $0.contains("missing") })
        // gc never removes referenced blobs, even broken ones.
        #expect(try t.store.collectGarbage(gracePeriod: 0).blobsRemoved == 0)
    }
}
