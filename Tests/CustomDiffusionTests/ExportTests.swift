import Foundation
import Tensors
import Testing
import TensorFormats
@testable import CustomDiffusion

/// Exports of the "cat" concept, read back with our own readers and compared with the fixtures written
/// by the real tools. Set `CONCEPTS_EXPORT_DIR` to keep the files for `fixtures/verify_exports.py`.
@Suite("Exports")
struct ExportTests {
    static func layers(policy: CompressionPolicy) throws -> [ExportLayer] {
        let checkpoint = try ConceptCheckpoint.read(path: Fixtures.concept("cat-diffusers"))
        let base = try Fixtures.baseWeights()
        return try Fixtures.baseLayers().flatMap { layer in
            try Projection.allCases.map { projection in
                let key = LayerKey(layer: layer.name, projection: projection)
                let w0 = try #require(base[key])
                let weight = try #require(checkpoint.weights[key])
                return ExportLayer(layer: layer, projection: projection, base: w0,
                                   delta: try DeltaCompressor.compress(weight, base: w0, policy: policy))
            }
        }
    }

    static func outputDirectory(_ name: String) throws -> URL {
        if let root = ProcessInfo.processInfo.environment["CONCEPTS_EXPORT_DIR"] {
            return URL(fileURLWithPath: root).appendingPathComponent(name)
        }
        return try Fixtures.temporaryDirectory().appendingPathComponent(name)
    }

    @Test("lossless diffusers, adobe and compvis exports read back to the fine-tuned W′ bit for bit, with the reference key sets",
          arguments: [(ExportFormat.diffusers, "cat-diffusers"), (.adobe, "cat-adobe.bin"), (.compvis, "cat-compvis.ckpt")])
    func fullWeightExports(format: ExportFormat, reference: String) throws {
        let original = try ConceptCheckpoint.read(path: Fixtures.concept("cat-diffusers"))
        let dir = try Self.outputDirectory(format.rawValue)
        let files = try ConceptExporter.export(layers: try Self.layers(policy: .lossless), tokens: original.tokens, format: format, to: dir)
        #expect(files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
        let back = try ConceptCheckpoint.read(path: format == .diffusers ? dir : files[0])
        #expect(back.tokens == original.tokens)
        for (key, weight) in original.weights {
            guard case .full(let expected) = weight, case .full(let actual)? = back.weights[key] else {
                Issue.record("\(key) missing or not full"); continue
            }
            #expect(bitwiseEqual(actual.storage, expected.storage), "\(key)")
        }
        // Same tensor names as the file the real tool wrote.
        let ours = try TensorFile.read(path: files[0].path).tensors.map(\.name)
        let referenceFile = format == .diffusers
            ? Fixtures.concept(reference).appendingPathComponent("pytorch_custom_diffusion_weights.safetensors") : Fixtures.concept(reference)
        #expect(Set(ours) == Set(try TensorFile.read(path: referenceFile.path).tensors.map(\.name)))
        if format == .diffusers {
            let token = try Safetensors.read(path: dir.appendingPathComponent("<new1>.safetensors").path)
            #expect(token.metadata == ["format": "pt"])
            #expect(token.tensors.map(\.name) == ["<new1>"])
        }
    }

    @Test("LoRA export holds ΔW exactly: the stored factors, zero-padded to one rank r with alpha = r",
          arguments: ["lossless", "error:0.05", "rank:2"])
    func lora(policyText: String) throws {
        let policy = try CompressionPolicy(parsing: policyText)
        let layers = try Self.layers(policy: policy)
        let dir = try Self.outputDirectory("lora-" + policyText.replacingOccurrences(of: ":", with: "-"))
        let files = try ConceptExporter.export(layers: layers, tokens: [.init(name: "<new1>", embedding: Array(repeating: 0.5, count: 32))],
                                               format: .lora, to: dir)
        #expect(files.map(\.lastPathComponent) == ["pytorch_lora_weights.safetensors", "<new1>.safetensors"])
        let archive = try Safetensors.read(path: files[0].path)
        #expect(archive.tensors.count == 3 * layers.count)
        let fileRank = layers.map { l -> Int in
            if case .dense = l.delta.storage { return min(l.layer.outFeatures, l.layer.inFeatures) }
            return l.delta.rank
        }.max()!
        for layer in layers {
            let module = LayerNaming.kohyaModuleName(layer.key)
            let up = try #require(archive[module + ".lora_up.weight"]), down = try #require(archive[module + ".lora_down.weight"])
            let h = layer.layer.outFeatures, d = layer.layer.inFeatures
            #expect(try #require(archive[module + ".alpha"]).floats() == [Float(fileRank)])
            #expect(up.shape == [h, fileRank] && down.shape == [fileRank, d])
            let u = Matrix(rows: h, cols: fileRank, storage: try up.floats()), v = Matrix(rows: fileRank, cols: d, storage: try down.floats())
            switch layer.delta.storage {
            case .factors(let su, let sv):
                let r = layer.delta.rank
                let (sup, sdown) = (try su.floats(), try sv.floats())
                #expect(bitwiseEqual(u.columns(0..<r).storage, sup) && bitwiseEqual(v.rows(0..<r).storage, sdown))
                #expect(u.columns(r..<fileRank).maxAbs == 0 && v.rows(r..<fileRank).maxAbs == 0)
                #expect(up.dtype == su.dtype)
            case .dense(let t):
                // identity on the smaller side (h ≤ d here): up = [I | 0], down = [ΔW; 0]
                #expect(bitwiseEqual(v.rows(0..<h).storage, try t.floats()))
                #expect(u.columns(0..<h) == Matrix<Float>.identity(h) && u.columns(h..<fileRank).maxAbs == 0)
            }
            #expect(relativeDifference(Matrix.matmul(u, v), try layer.delta.reconstruct()) < 1e-6)
        }
    }

    @Test("an export into an unwritable place fails with a typed error and leaves no file")
    func unwritable() throws {
        let file = try Fixtures.temporaryDirectory().appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        #expect(throws: ConceptError.self) {
            try ConceptExporter.export(layers: try Self.layers(policy: .fp16), tokens: [], format: .adobe, to: file.appendingPathComponent("sub"))
        }
    }
}
