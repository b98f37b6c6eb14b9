import CustomDiffusion
import Foundation
import GRDB
import Testing
import TensorFormats
@testable import Registry

@Suite("compose")
struct ComposeTests {
    /// cat and dog were both trained as `<new1>`.
    static func catAndDog() throws -> TestStore {
        let t = try TestStore.withTinyBase()
        _ = try t.register("cat", "cat-diffusers", categories: ["cat"])
        _ = try t.register("dog", "dog-diffusers", categories: ["dog"])
        return t
    }

    func compose(_ t: TestStore, _ refs: [String], format: ExportFormat = .lora, cache: Bool = true, regset: String? = nil) throws -> ComposeResult {
        try t.store.compose(ComposeRequest(references: refs, regset: regset, format: format,
                                           output: t.root.appendingPathComponent("out-\(UUID().uuidString)"), useCache: cache))
    }

    @Test("two concepts trained as <new1> compose into distinct tokens with their own embeddings")
    func clashingTokens() throws {
        let t = try Self.catAndDog()
        let result = try compose(t, ["cat", "dog"])
        #expect(result.tokens == ["cat": "<new1>", "dog": "<new1-dog>"])
        #expect(!result.cached)
        let names = result.files.map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(Set(names) == ["pytorch_lora_weights.safetensors", "<new1>.safetensors", "<new1-dog>.safetensors"])
        let dogFile = try #require(result.files.first { $0.hasSuffix("<new1-dog>.safetensors") })
        let dogEmbedding = try Safetensors.read(path: dogFile)["<new1-dog>"]?.floats()
        let original = try Safetensors.read(path: SDTiny.concept("dog-diffusers/<new1>.safetensors").path)["<new1>"]?.floats()
        #expect(dogEmbedding != nil && dogEmbedding == original)
    }

    @Test("constraints hold and duplicate prefix rows are dropped")
    func constraints() throws {
        let t = try Self.catAndDog()
        let result = try compose(t, ["cat", "dog"])
        // Both concepts' "a photo of" rows share a prefix: dropped once each for the second concept.
        #expect(result.droppedDuplicateRows > 0)
        #expect(result.targets == result.concepts.map(\.targetRows).reduce(0, +) - result.droppedDuplicateRows)
        // W Cᵀ = Vᵀ up to Float32 rounding of targets whose magnitude is ~1.
        #expect(result.maxConstraintResidual < 1e-4)
        #expect(result.regularizationDrift > 0 && result.regularizationDrift < 1)
        // Composing a concept alone reproduces its own targets as well.
        let alone = try compose(t, ["cat"])
        #expect(alone.droppedDuplicateRows == 0)
        #expect(alone.maxConstraintResidual < 1e-4)
    }

    @Test("the LoRA export holds the same update the full-weight exports apply")
    func exportsAgree() throws {
        let t = try Self.catAndDog()
        let lora = try compose(t, ["cat", "dog"], format: .lora)
        let full = try compose(t, ["cat", "dog"], format: .diffusers)
        #expect(full.cached && full.compositionID == lora.compositionID)
        let loraFile = try Safetensors.read(path: try #require(lora.files.first { $0.hasSuffix("pytorch_lora_weights.safetensors") })).byName
        let fullFile = try Safetensors.read(path: try #require(full.files.first { $0.hasSuffix(ConceptExporter.diffusersWeightsFileName) })).byName
        let baseID = try t.store.resolve(ConceptReference(name: "cat")).baseID
        for layer in try t.store.base(named: "tiny").layers ?? [] {
            for projection in Projection.allCases {
                let key = LayerKey(layer: layer.name, projection: projection)
                let module = LayerNaming.kohyaModuleName(key)
                let up = try #require(loraFile["\(module).lora_up.weight"]).matrix()
                let down = try #require(loraFile["\(module).lora_down.weight"]).matrix()
                let w = try #require(fullFile[LayerNaming.processorKey(key)]).matrix()
                let tensorName = try t.store.database.read { db in
                    try String.fetchOne(db, sql: "SELECT \(projection == .key ? "key_tensor" : "value_tensor") FROM base_layer WHERE base_id = ? AND name = ?",
                                        arguments: [baseID, layer.name])
                }
                let w0 = try t.store.baseTensor(baseID: baseID, name: try #require(tensorName)).matrix()
                let update = Matrix.matmul(up, down)
                #expect(((w - w0) - update).maxAbs <= 1e-6 * max(1, w0.maxAbs), "\(key)")
                #expect(up.cols == lora.targets, "rank of the update is s")
            }
        }
    }

    @Test("a repeated compose is a cache lookup; --no-cache recomputes the same result")
    func cache() throws {
        let t = try Self.catAndDog()
        let first = try compose(t, ["cat", "dog"])
        let again = try compose(t, ["cat", "dog"])
        #expect(again.cached && !first.cached)
        #expect(again.compositionID == first.compositionID)
        #expect(again.maxConstraintResidual == first.maxConstraintResidual)
        let recomputed = try compose(t, ["cat", "dog"], cache: false)
        #expect(!recomputed.cached && recomputed.compositionID == first.compositionID)
        let a = try Data(contentsOf: URL(fileURLWithPath: try #require(first.files.first { $0.hasSuffix("lora_weights.safetensors") })))
        let b = try Data(contentsOf: URL(fileURLWithPath: try #require(again.files.first { $0.hasSuffix("lora_weights.safetensors") })))
        #expect(a == b, "the cached composition exports the same bytes")
        // Order is part of the key (it decides which duplicate row is kept and which token keeps its name).
        let reversed = try compose(t, ["dog", "cat"])
        #expect(reversed.compositionID != first.compositionID && reversed.tokens == ["dog": "<new1>", "cat": "<new1-cat>"])
        #expect(try t.count("composition") == 2)
    }

    @Test("merge keys missing from older versions are computed on first use")
    func lazyMergeKeys() throws {
        let t = try Self.catAndDog()
        let reference = try compose(t, ["cat", "dog"], cache: false)
        try t.store.database.write { db in
            try db.execute(sql: "DELETE FROM merge_key_layer")
            try db.execute(sql: "DELETE FROM merge_key")
        }
        let again = try compose(t, ["cat", "dog"], cache: false)
        #expect(try t.count("merge_key") == 2)
        #expect(again.maxConstraintResidual == reference.maxConstraintResidual)
    }

    @Test("refusals: different bases, unknown references and sets, too many targets, a concept listed twice")
    func refusals() throws {
        let t = try Self.catAndDog()
        _ = try BaseModelImporter.add(name: "tiny2", path: SDTiny.base, to: t.store)
        _ = try t.register("cat2", "cat-diffusers", base: "tiny2")
        #expect(throws: RegistryError.self) { try compose(t, ["cat", "cat2"]) }
        #expect(throws: RegistryError.unknownConcept("ghost")) { try compose(t, ["cat", "ghost"]) }
        #expect(throws: (any Error).self) { try compose(t, ["cat"], regset: "no-such-set") }
        #expect(throws: RegistryError.self) { try compose(t, ["cat", "cat@1"]) }
        _ = try t.register("pair", "pair-diffusers", categories: ["cat", "dog"])
        do {
            _ = try compose(t, ["cat", "dog", "pair"])
            Issue.record("more target rows than feature dimensions must be refused")
        } catch let error as CompositionSolver.Failure {
            guard case .tooManyTargets(let rows, let d) = error else { Issue.record("wrong error \(error)"); return }
            #expect(rows > d && d == 32)
        }
        #expect(try t.count("composition") == 0)
    }
}
