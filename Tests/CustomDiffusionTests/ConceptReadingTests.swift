import Foundation
import Testing
@testable import CustomDiffusion

/// Every layout of the same "cat" fine-tune must give the golden ΔW = W′ − W0 (Float32, as torch
/// computes it) bit for bit, and the golden embedding bit for bit. The compressed adobe file holds
/// the original repo's energy-0.6 truncation: its ΔW must have the golden rank and relative error.
@Suite("Reading Custom Diffusion outputs")
struct ConceptReadingTests {
    @Test("full-weight formats give the golden ΔW and embedding exactly",
          arguments: [("cat-diffusers", ConceptCheckpoint.Format.diffusers), ("cat-diffusers-bin", .diffusers),
                      ("cat-adobe.bin", .adobe), ("cat-compvis.ckpt", .compvis)])
    func fullFormats(name: String, format: ConceptCheckpoint.Format) throws {
        let checkpoint = try ConceptCheckpoint.read(path: Fixtures.concept(name))
        #expect(checkpoint.format == format)
        let layers = try Fixtures.baseLayers()
        try checkpoint.validate(against: layers)
        let base = try Fixtures.baseWeights()
        let golden = try Fixtures.goldenDeltas("cat.safetensors")
        #expect(checkpoint.weights.count == 32)
        for (key, weight) in checkpoint.weights {
            let delta = try weight.delta(base: try #require(base[key]))
            #expect(bitwiseEqual(delta.storage, try #require(golden.deltas[key]).storage), "\(key)")
        }
        #expect(checkpoint.tokens.map(\.name) == ["<new1>"])
        #expect(bitwiseEqual(checkpoint.tokens[0].embedding, try #require(golden.embeddings["<new1>"])))
    }

    @Test("the torch-saved embedding view is read at its storage offset, not from the start of the matrix")
    func embeddingView() throws {
        let bin = try ConceptCheckpoint.read(path: Fixtures.concept("cat-diffusers-bin"))
        let safe = try ConceptCheckpoint.read(path: Fixtures.concept("cat-diffusers"))
        #expect(bin.tokens == safe.tokens)
        #expect(bin.sourceFiles.map(\.lastPathComponent).sorted() == ["<new1>.bin", "pytorch_custom_diffusion_weights.bin"])
    }

    @Test("compressed adobe delta: the original energy-0.6 truncation, rank and error as the golden SVD says")
    func adobeCompressed() throws {
        let checkpoint = try ConceptCheckpoint.read(path: Fixtures.concept("cat-adobe-compressed.bin"))
        #expect(checkpoint.format == .adobeCompressed)
        try checkpoint.validate(against: try Fixtures.baseLayers())
        let base = try Fixtures.baseWeights()
        let golden = try Fixtures.goldenDeltas("cat.safetensors")
        let policies = try Fixtures.policyGoldens()
        for (key, weight) in checkpoint.weights {
            guard case .delta(let up, _) = weight else { Issue.record("\(key) not a delta"); continue }
            let expected = try #require(policies[key]).energy
            #expect(up.cols == expected.rank, "\(key)")  // the original rule, rank 0 included
            let delta = try weight.delta(base: try #require(base[key]))
            let truth = try #require(golden.deltas[key])
            // Tolerance: float32 SVD in torch vs float64 in numpy.
            #expect(abs(relativeDifference(delta, truth) - expected.relative_error) < 1e-4, "\(key)")
        }
        #expect(checkpoint.tokens.map(\.name) == ["<new1>"])
    }

    @Test("joint two-token output")
    func jointOutput() throws {
        let checkpoint = try ConceptCheckpoint.read(path: Fixtures.concept("pair-diffusers"))
        let golden = try Fixtures.goldenDeltas("pair.safetensors")
        let base = try Fixtures.baseWeights()
        #expect(checkpoint.tokens.map(\.name) == ["<new1>", "<new2>"])
        for token in checkpoint.tokens { #expect(bitwiseEqual(token.embedding, try #require(golden.embeddings[token.name]))) }
        for (key, weight) in checkpoint.weights {
            #expect(bitwiseEqual(try weight.delta(base: try #require(base[key])).storage, try #require(golden.deltas[key]).storage))
        }
    }

    @Test("CompVis embeddings are named by tokenNames, else <new1>…; other formats are renamed")
    func tokenNames() throws {
        let named = try ConceptCheckpoint.read(path: Fixtures.concept("cat-compvis.ckpt"), tokenNames: ["<cat>"])
        #expect(named.tokens.map(\.name) == ["<cat>"])
        let renamed = try ConceptCheckpoint.read(path: Fixtures.concept("pair-diffusers"), tokenNames: ["<a>", "<b>"])
        #expect(renamed.tokens.map(\.name) == ["<a>", "<b>"])
        #expect(throws: ConceptError.duplicateToken("<a>", path: Fixtures.concept("pair-diffusers").path)) {
            try ConceptCheckpoint.read(path: Fixtures.concept("pair-diffusers"), tokenNames: ["<a>", "<a>"])
        }
        #expect(throws: ConceptError.tokenCountMismatch(expected: 2, given: 1, path: Fixtures.concept("pair-diffusers").path)) {
            try ConceptCheckpoint.read(path: Fixtures.concept("pair-diffusers"), tokenNames: ["<a>"])
        }
    }

    // MARK: Refusals

    @Test("NaN in a layer is refused naming the tensor")
    func nan() throws {
        let dir = Fixtures.concept("bad/nan-diffusers")
        #expect(throws: ConceptError.nonFinite(
            tensor: "down_blocks.1.attentions.0.transformer_blocks.0.attn2.processor.to_v_custom_diffusion.weight",
            path: dir.appendingPathComponent("pytorch_custom_diffusion_weights.safetensors").path)) {
            try ConceptCheckpoint.read(path: dir)
        }
    }

    @Test("a missing layer is reported by validate")
    func missingLayer() throws {
        let checkpoint = try ConceptCheckpoint.read(path: Fixtures.concept("bad/missing-layer-diffusers"))
        #expect(throws: ConceptError.missingLayer(LayerKey(layer: "up_blocks.3.attentions.2.transformer_blocks.0.attn2", projection: .key))) {
            try checkpoint.validate(against: try Fixtures.baseLayers())
        }
    }

    @Test("a wrong shape is reported by validate with the layer and both shapes")
    func wrongShape() throws {
        let checkpoint = try ConceptCheckpoint.read(path: Fixtures.concept("bad/wrong-shape-diffusers"))
        #expect(throws: ConceptError.wrongShape(LayerKey(layer: "mid_block.attentions.0.transformer_blocks.0.attn2", projection: .key),
                                                expected: [8, 32], actual: [9, 32])) {
            try checkpoint.validate(against: try Fixtures.baseLayers())
        }
    }

    @Test("<token>.safetensors and an agreeing <token>.bin: the .safetensors file is read, once")
    func agreeingTokenFiles() throws {
        let dir = Fixtures.concept("bad/duplicate-token-diffusers")
        let checkpoint = try ConceptCheckpoint.read(path: dir)
        let golden = try Fixtures.goldenDeltas("cat.safetensors")
        #expect(checkpoint.tokens.map(\.name) == ["<new1>"])
        #expect(bitwiseEqual(checkpoint.tokens[0].embedding, try #require(golden.embeddings["<new1>"])))
        #expect(checkpoint.sourceFiles.map(\.lastPathComponent) == ["pytorch_custom_diffusion_weights.safetensors", "<new1>.safetensors"])
        #expect(checkpoint.weights.count == 32)
    }

    @Test("<token>.safetensors and a disagreeing <token>.bin are refused, naming both files and the value")
    func disagreeingTokenFiles() throws {
        let dir = Fixtures.concept("bad/disagreeing-token-diffusers")
        let good = try #require(try Fixtures.goldenDeltas("cat.safetensors").embeddings["<new1>"])
        let changed = good[3] + 0.25  // generate_token_files.py: emb[3] += 0.25 (in Float32, as torch adds)
        #expect(throws: ConceptError.disagreeingTokenFiles(
            token: "<new1>", path: dir.appendingPathComponent("<new1>.safetensors").path,
            otherPath: dir.appendingPathComponent("<new1>.bin").path, reason: "value 3 is \(good[3]) against \(changed)")) {
            try ConceptCheckpoint.read(path: dir)
        }
    }

    @Test("the same token in two files of different names is refused")
    func duplicateToken() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dup-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cat = Fixtures.concept("cat-diffusers")
        for (from, to) in [("pytorch_custom_diffusion_weights.safetensors", "pytorch_custom_diffusion_weights.safetensors"),
                           ("<new1>.safetensors", "<new1>.safetensors"), ("<new1>.safetensors", "again.safetensors")] {
            try FileManager.default.copyItem(at: cat.appendingPathComponent(from), to: dir.appendingPathComponent(to))
        }
        #expect(throws: ConceptError.duplicateToken("<new1>", path: dir.path)) { try ConceptCheckpoint.read(path: dir) }
    }

    @Test("a layer the base does not have is reported")
    func unknownLayer() throws {
        let checkpoint = try ConceptCheckpoint.read(path: Fixtures.concept("cat-diffusers"))
        let layers = try Fixtures.baseLayers()
        #expect(throws: ConceptError.unknownLayer(LayerKey(layer: layers[0].name, projection: .key))) {
            try checkpoint.validate(against: Array(layers.dropFirst()))
        }
    }

    @Test("missing paths, non-concept files and folders without weights are refused")
    func unreadable() throws {
        let nowhere = Fixtures.concept("no-such-thing.bin")
        #expect(throws: ConceptError.unreadable(path: nowhere.path, reason: "no such file or directory")) {
            try ConceptCheckpoint.read(path: nowhere)
        }
        let unet = Fixtures.root.appendingPathComponent("base/unet/diffusion_pytorch_model.safetensors")
        #expect { try ConceptCheckpoint.read(path: unet) } throws: { error in
            if case ConceptError.unrecognizedFormat(let path, _) = error { return path == unet.path }
            return false
        }
        #expect(throws: ConceptError.missingWeightsFile(directory: Fixtures.root.appendingPathComponent("base").path)) {
            try ConceptCheckpoint.read(path: Fixtures.root.appendingPathComponent("base"))
        }
        let config = Fixtures.root.appendingPathComponent("base/unet/config.json")
        #expect { try ConceptCheckpoint.read(path: config) } throws: { error in
            if case ConceptError.unreadable(let path, _) = error { return path == config.path }
            return false
        }
    }
}
