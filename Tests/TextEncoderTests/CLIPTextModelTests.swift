import Foundation
import TensorFormats
import Tensors
import Testing
@testable import TextEncoder

/// The text model against transformers 5 on tiny random CLIP configs (`fixtures/generate_clip.py`):
/// hidden states (last / penultimate), pooled output, projection; absolute tolerance 1e-4. The goldens run on every
/// kernel path this CPU supports (`KernelPath.available`: AVX-512, AVX2, generic/BLAS).
@Suite("CLIPTextModel")
struct CLIPTextModelTests {
    static let tolerance: Float = 1e-4

    struct Case {
        let ids: [Int32]
        let last: [Float]
        let penultimate: [Float]
        let pooled: [Float]
        let projection: [Float]?
    }

    static func golden(_ key: String) throws -> [Case] {
        let root = try #require(try Fixtures.json("model_golden.json") as? [String: Any])
        let list: [[String: Any]]
        if key == "injected" {
            list = try #require((root[key] as? [String: Any])?["cases"] as? [[String: Any]])
        } else {
            list = try #require(root[key] as? [[String: Any]])
        }
        return try list.map(Self.parse)
    }

    static func parse(_ entry: [String: Any]) throws -> Case {
        func floats(_ k: String) -> [Float]? { (entry[k] as? [Double])?.map(Float.init) }
        return Case(ids: try #require(entry["ids"] as? [Int]).map(Int32.init), last: try #require(floats("last")),
                    penultimate: try #require(floats("penultimate")), pooled: try #require(floats("pooled")),
                    projection: floats("projection"))
    }

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func quickGELUModel() throws -> CLIPTextModel { try CLIPTextModel.load(directory: Fixtures.url("tiny-quickgelu")) }

    static func check(_ model: CLIPTextModel, _ cases: [Case], extra: Matrix<Float>? = nil) throws {
        let batch = cases.map(\.ids)
        let last = try model.encode(batch, layer: .last, extraEmbeddings: extra)
        let penultimate = try model.encode(batch, layer: .penultimate, extraEmbeddings: extra)
        #expect(last.count == cases.count && penultimate.count == cases.count)
        for (i, expected) in cases.enumerated() {
            #expect(last[i].hidden.rows == expected.ids.count && last[i].hidden.cols == model.configuration.hiddenSize)
            #expect(maxDiff(last[i].hidden.storage, expected.last) <= tolerance, "last, case \(i)")
            #expect(maxDiff(penultimate[i].hidden.storage, expected.penultimate) <= tolerance, "penultimate, case \(i)")
            #expect(maxDiff(last[i].pooled, expected.pooled) <= tolerance, "pooled, case \(i)")
            if let projection = expected.projection {
                let got = try #require(last[i].projection)
                #expect(maxDiff(got, projection) <= tolerance, "projection, case \(i)")
                let norm = projection.reduce(0) { $0 + $1 * $1 }.squareRoot()
                #expect(maxDiff(try #require(last[i].embedding), projection.map { $0 / norm }) <= tolerance)
            } else {
                #expect(last[i].projection == nil && last[i].embedding == nil)
            }
        }
    }

    @Test("HF folder, CLIPTextModelWithProjection, quick_gelu, legacy eos_token_id 2: mixed-length batch",
          arguments: KernelPath.available)
    func quickGELU(path: KernelPath) throws {
        try KernelPath.$override.withValue(path) {
            let model = try Self.quickGELUModel()
            #expect(model.hasProjection && model.configuration.activation == .quickGELU)
            try Self.check(model, try Self.golden("quickgelu"))
        }
    }

    @Test("CompVis names without text_model. (cond_stage_model.transformer.…), gelu, eos_token_id 511",
          arguments: KernelPath.available)
    func geluCompVis(path: KernelPath) throws {
        try KernelPath.$override.withValue(path) { try checkGeluCompVis() }
    }

    func checkGeluCompVis() throws {
        let config = try CLIPTextConfiguration.read(Fixtures.url("tiny-gelu-config.json"))
        #expect(config.activation == .gelu && config.eosTokenID == 511)
        let archive = try Safetensors.read(path: Fixtures.url("tiny-gelu-compvis.safetensors").path)
        let model = try CLIPTextModel(configuration: config, archive: archive)
        #expect(!model.hasProjection)
        try Self.check(model, try Self.golden("gelu"))
    }

    @Test("CompVis names with text_model. (cond_stage_model.transformer.text_model.…) load the same model")
    func compVisTextModelPrefix() throws {
        let dir = Fixtures.url("tiny-quickgelu")
        let config = try CLIPTextConfiguration.read(dir.appendingPathComponent("config.json"))
        let archive = try Safetensors.read(path: dir.appendingPathComponent("model.safetensors").path)
        var renamed: [String: RawTensor] = [:]
        for (name, tensor) in archive.tensors where name.hasPrefix("text_model.") {
            renamed["cond_stage_model.transformer." + name] = tensor
        }
        let model = try CLIPTextModel(configuration: config, weights: renamed)
        #expect(!model.hasProjection)
        let cases = try Self.golden("quickgelu")
        let out = try model.encode(cases.map(\.ids))
        for (i, expected) in cases.enumerated() {
            #expect(Self.maxDiff(out[i].hidden.storage, expected.last) <= Self.tolerance)
        }
    }

    @Test("Injected embeddings: ids ≥ vocab_size index the extra table, as transformers with the rows appended",
          arguments: KernelPath.available)
    func injected(path: KernelPath) throws {
        let root = try #require(try Fixtures.json("model_golden.json") as? [String: Any])
        let extra = try #require((root["injected"] as? [String: Any])?["extra"] as? [Double]).map(Float.init)
        let table = Matrix<Float>(rows: 2, cols: 32, storage: extra)
        try KernelPath.$override.withValue(path) {
            try Self.check(try Self.quickGELUModel(), try Self.golden("injected"), extra: table)
        }
    }

    @Test("A caption's outputs do not depend on the other captions of its batch")
    func batchIndependence() throws {
        let model = try Self.quickGELUModel()
        let cases = try Self.golden("quickgelu")
        let together = try model.encode(cases.map(\.ids), layer: .layer(1))
        for (i, c) in cases.enumerated() {
            let alone = try model.encode([c.ids], layer: .layer(1))
            #expect(Self.maxDiff(alone[0].hidden.storage, together[i].hidden.storage) <= 1e-5)
        }
    }

    @Test("Batches larger than one pass are split and give the same outputs, in order")
    func largeBatch() throws {
        let model = try Self.quickGELUModel()
        let cases = try Self.golden("quickgelu")
        var batch: [[Int32]] = []
        while batch.map(\.count).reduce(0, +) <= CLIPTextModel.maxRowsPerPass + 200 { batch += cases.map(\.ids) }
        let out = try model.encode(batch)
        #expect(out.count == batch.count)
        for (i, ids) in batch.enumerated() {
            let expected = try #require(cases.first { $0.ids == ids })
            #expect(Self.maxDiff(out[i].hidden.storage, expected.last) <= Self.tolerance, "caption \(i)")
        }
        #expect(throws: TextEncoderError.tokenOutOfRange(id: 600, sequence: batch.count, limit: 512)) {
            try model.encode(batch + [[600]])
        }
    }

    @Test("Pooling position: first EOS, argmax of ids for eos_token_id 2, position 0 without EOS")
    func pooling() {
        #expect(CLIPTextModel.poolingIndex([49406, 320, 49407, 49407], eosTokenID: 49407) == 2)
        #expect(CLIPTextModel.poolingIndex([49406, 320, 1929], eosTokenID: 49407) == 0)
        #expect(CLIPTextModel.poolingIndex([49406, 49408, 49407], eosTokenID: 2) == 1, "an added token wins the argmax")
    }

    @Test("Bad configurations, weights and inputs give typed errors")
    func errors() throws {
        #expect(throws: TextEncoderError.invalidConfiguration(field: "hidden_size", reason: "30 is not divisible by num_attention_heads 4")) {
            try CLIPTextConfiguration(hiddenSize: 30, numHeads: 4)
        }
        #expect(throws: TextEncoderError.invalidConfiguration(field: "num_hidden_layers", reason: "must be positive, is 0")) {
            try CLIPTextConfiguration(numLayers: 0)
        }
        #expect(throws: TextEncoderError.self) {
            try JSONDecoder().decode(CLIPTextConfiguration.self, from: Data(#"{"hidden_act": "relu"}"#.utf8))
        }
        let decoded = try JSONDecoder().decode(CLIPTextConfiguration.self, from: Data(#"{"hidden_size": 768, "num_attention_heads": 12}"#.utf8))
        #expect(decoded.headDim == 64 && decoded.vocabSize == 49408 && decoded.activation == .quickGELU)

        let dir = Fixtures.url("tiny-quickgelu")
        let config = try CLIPTextConfiguration.read(dir.appendingPathComponent("config.json"))
        var weights = try Safetensors.read(path: dir.appendingPathComponent("model.safetensors").path).byName
        #expect(throws: TextEncoderError.missingTensor(name: "text_model.embeddings.token_embedding.weight")) {
            try CLIPTextModel(configuration: config, weights: [:])
        }
        weights["text_model.encoder.layers.1.mlp.fc1.bias"] = try RawTensor.from(floats: [0, 0], shape: [2])
        #expect(throws: TextEncoderError.shapeMismatch(name: "text_model.encoder.layers.1.mlp.fc1.bias", expected: [37], actual: [2])) {
            try CLIPTextModel(configuration: config, weights: weights)
        }
        weights["text_model.encoder.layers.1.mlp.fc1.bias"] = nil
        #expect(throws: TextEncoderError.missingTensor(name: "text_model.encoder.layers.1.mlp.fc1.bias")) {
            try CLIPTextModel(configuration: config, weights: weights)
        }
        let model = try Self.quickGELUModel()
        #expect(throws: TextEncoderError.tokenOutOfRange(id: 512, sequence: 1, limit: 512)) { try model.encode([[1], [510, 512]]) }
        #expect(throws: TextEncoderError.invalidSequenceLength(sequence: 0, length: 78, maximum: 77)) {
            try model.encode([Array(repeating: 5, count: 78)])
        }
        #expect(throws: TextEncoderError.invalidSequenceLength(sequence: 0, length: 0, maximum: 77)) { try model.encode([[]]) }
        #expect(throws: TextEncoderError.extraEmbeddingWidth(expected: 32, actual: 3)) {
            try model.encode([[1]], extraEmbeddings: Matrix(zeros: 1, 3))
        }
        #expect(throws: TextEncoderError.invalidLayer(4, layers: 3)) { try model.encode([[1]], layer: .layer(4)) }
        let tmp = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.copyItem(at: dir.appendingPathComponent("config.json"), to: tmp.appendingPathComponent("config.json"))
        #expect(throws: TextEncoderError.noWeightsFile(directory: tmp.path)) { try CLIPTextModel.load(directory: tmp) }
    }
}
