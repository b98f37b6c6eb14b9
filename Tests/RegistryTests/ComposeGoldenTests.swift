import CustomDiffusion
import Foundation
import TestSupport
import Testing
import TensorFormats
@testable import Registry

/// Compositions against the independent Float64 reference (`python3 fixtures/generate_compose.py`:
/// transformers features, prefix-key deduplication, NumPy/SciPy solve with Σ's pseudo-inverse).
/// Tolerances (stated by the generator): W − W0 within 1e-6 of max|W − W0| when solved from the
/// golden C and Σ; within 1e-4 end to end from features our encoder computes; features 1e-4 abs.
@Suite("compose vs the Float64 reference")
struct ComposeGoldenTests {
    static let directory = fixturesDirectory.appendingPathComponent("compose")
    static let cases: [(name: String, concepts: [(name: String, fixture: String, categories: [String])])] = [
        ("cat-dog", [("cat", "cat-diffusers", ["cat"]), ("dog", "dog-diffusers", ["dog"])]),
        ("dog-cat", [("dog", "dog-diffusers", ["dog"]), ("cat", "cat-diffusers", ["cat"])]),
        ("cat-pair", [("cat", "cat-diffusers", ["cat"]), ("pair", "pair-diffusers", ["cat", "dog"])]),
        ("cat", [("cat", "cat-diffusers", ["cat"])]),
    ]

    static func golden(_ name: String) throws -> (tensors: [String: RawTensor], report: [String: Any]) {
        let tensors = try Safetensors.read(path: directory.appendingPathComponent("\(name).safetensors").path).byName
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("\(name).json"))) as? [String: Any] ?? [:]
        return (tensors, report)
    }

    /// max |a − b| / max |b| over every layer of a case.
    static func relativeDifference(_ updates: [LayerKey: Matrix<Float>], _ golden: [String: RawTensor]) throws -> Double {
        var worstDiff = 0.0, scale = 0.0
        for (key, update) in updates {
            let expected = try #require(golden[key.description]).matrix()
            worstDiff = max(worstDiff, (update - expected).maxAbs)
            scale = max(scale, expected.maxAbs)
        }
        return worstDiff / scale
    }

    @Test("the solver matches from the golden C and Σ", arguments: cases.map(\.name))
    func solverFromGoldenInputs(name: String) throws {
        let (tensors, report) = try Self.golden(name)
        let c = try #require(tensors["C"]).matrix().asDouble
        let sigma = Matrix<Double>(rows: 32, cols: 32, storage: try #require(tensors["sigma"]).doubles())
        let rows = try #require(report["rows"] as? [[String: Any]]).filter { $0["kept"] as? Bool == true }
        #expect(rows.count == c.rows)
        // V rows from each row's own concept: C W′ᵀ with W′ from the concept file; W0 from the base.
        let spec = try #require(Self.cases.first { $0.name == name })
        var finetuned: [String: ConceptCheckpoint] = [:]
        for concept in spec.concepts { finetuned[concept.name] = try ConceptCheckpoint.read(path: SDTiny.concept(concept.fixture)) }
        let base = try Safetensors.read(path: SDTiny.base.appendingPathComponent("unet/diffusion_pytorch_model.safetensors").path).byName
        var layers: [LayerKey: CompositionSolver.LayerTargets] = [:]
        for key in try #require(finetuned.values.first).weights.keys {
            let w0 = try #require(base[LayerNaming.parameterName(key)]).matrix().asDouble
            var target = Matrix<Double>(zeros: c.rows, w0.rows)
            for (i, row) in rows.enumerated() {
                let concept = try #require(finetuned[row["concept"] as? String ?? ""])
                guard case .full(let w)? = concept.weights[key] else { Issue.record("\(key) not a full weight"); return }
                let value = Matrix.matmul(c.rows(i..<(i + 1)), w.asDouble, transposeB: true)
                for j in 0..<w0.rows { target[i, j] = value[0, j] }
            }
            layers[key] = .init(target: target, base: Matrix.matmul(c, w0, transposeB: true))
        }
        let basis = try RegularizationBasis(sigma: sigma)
        #expect(basis.droppedDirections == 32 - (report["sigma_rank"] as? Int ?? 0))
        let solution = try CompositionSolver.solve(targets: c, layers: layers, basis: basis)
        let updates = solution.updates.mapValues { Matrix.matmul($0.up, $0.down) }
        let difference = try Self.relativeDifference(updates, tensors)
        #expect(difference <= 1e-6, "relative difference \(difference)")
    }

    @Test("end to end: register, regset, compose — W − W0, duplicates, features", arguments: cases.map(\.name))
    func endToEnd(name: String) throws {
        let spec = try #require(Self.cases.first { $0.name == name })
        let (tensors, report) = try Self.golden(name)
        let t = try TestStore.withTinyBase()
        for concept in spec.concepts {
            _ = try t.register(concept.name, concept.fixture, categories: concept.categories)
        }
        _ = try t.store.createRegset(name: "golden", base: "tiny", fromFile: Self.directory.appendingPathComponent("regset.txt").path)
        let result = try t.store.compose(ComposeRequest(references: spec.concepts.map(\.name), regset: "golden", format: .lora,
                                                        output: t.root.appendingPathComponent("out")))
        #expect(result.targets == report["targets_after_dedupe"] as? Int)
        #expect(result.droppedDuplicateRows == (report["dropped_rows"] as? [Int])?.count)
        #expect(result.sigmaDroppedDirections == 32 - (report["sigma_rank"] as? Int ?? 0))
        #expect(result.maxConstraintResidual <= 1e-5)
        let lora = try Safetensors.read(path: t.root.appendingPathComponent("out/\(ConceptExporter.loraFileName)").path).byName
        var updates: [LayerKey: Matrix<Float>] = [:]
        for name in tensors.keys where name != "C" && name != "sigma" {
            let key = try #require(LayerNaming.parse(weightName: name + ".weight"))
            let module = LayerNaming.kohyaModuleName(key)
            updates[key] = Matrix.matmul(try #require(lora["\(module).lora_up.weight"]).matrix(), try #require(lora["\(module).lora_down.weight"]).matrix())
        }
        #expect(updates.count == 32)
        #expect(try Self.relativeDifference(updates, tensors) <= 1e-4)
        if let drift = report["max_regularization_drift"] as? Double {
            #expect(abs(result.regularizationDrift - drift) <= 1e-3 * drift + 1e-9)
        }
    }

    @Test("merge-key features equal transformers' (1e-4 abs)")
    func features() throws {
        let golden = try Safetensors.read(path: Self.directory.appendingPathComponent("features.safetensors").path).byName
        let t = try TestStore.withTinyBase()
        for (name, fixture, categories) in [("cat", "cat-diffusers", ["cat"]), ("dog", "dog-diffusers", ["dog"]), ("pair", "pair-diffusers", ["cat", "dog"])] {
            _ = try t.register(name, fixture, categories: categories)
            let keys = try #require(try t.store.loadMergeKeys(versionID: try t.store.resolve(ConceptReference(name: name)).versionID))
            let expected = try #require(golden["\(name).C"]).matrix()
            #expect(keys.features.rows == expected.rows && keys.features.cols == expected.cols)
            #expect((keys.features - expected).maxAbs <= 1e-4, "\(name)")
        }
    }
}
