import Foundation
import Testing
@testable import CustomDiffusion

/// The set-up of a composition: stacking and de-duplication of C, the layer values, token names.
/// (The solve itself is checked against the Float64 reference in RegistryTests' ComposeGoldenTests.)
@Suite("Composition problem")
struct CompositionProblemTests {
    @Test("token renaming is deterministic and keeps the first name")
    func renaming() {
        #expect(TokenRenaming.assign([("cat", "<new1>"), ("dog", "<new1>")]) == ["<new1>", "<new1-dog>"])
        #expect(TokenRenaming.assign([("a", "<new1>"), ("b", "<new1>"), ("c", "<new1>")]) == ["<new1>", "<new1-b>", "<new1-c>"])
        #expect(TokenRenaming.assign([("a", "<x>"), ("a", "<x>"), ("a", "<x>")]) == ["<x>", "<x-a>", "<x-a-2>"])
        #expect(TokenRenaming.assign([("cat", "<new1>"), ("pair", "<new1>"), ("pair", "<new2>")]) == ["<new1>", "<new1-pair>", "<new2>"])
    }

    /// A concept of `rows` feature rows (d = 3) with the given prefix keys and one layer of width 2.
    static func concept(_ keys: [String], offset: Float, layer: LayerKey, width: Int = 2) -> ConceptTargets {
        let n = keys.count
        let features = Matrix<Float>(rows: n, cols: 3, storage: (0..<(3 * n)).map { Float($0) + offset })
        let target = Matrix<Float>(rows: n, cols: width, storage: (0..<(width * n)).map { Float($0) * 2 + offset })
        let base = Matrix<Float>(rows: n, cols: width, storage: (0..<(width * n)).map { Float($0) + offset })
        return ConceptTargets(features: features, prefixKeys: keys, rowTokens: Array(repeating: 0, count: n),
                              layers: [layer: .init(target: target, base: base)])
    }

    @Test("rows whose prefix key was seen are dropped; the rest keep their order, values and differences")
    func deduplication() throws {
        let layer = LayerKey(layer: "down_blocks.0.attentions.0.transformer_blocks.0.attn2", projection: .key)
        let a = Self.concept(["p", "q"], offset: 0, layer: layer)
        let b = Self.concept(["p", "r", "q"], offset: 100, layer: layer)
        let problem = try CompositionProblem(concepts: [a, b], dimension: 3)
        #expect(problem.keptRows.map { [$0.concept, $0.row] } == [[0, 0], [0, 1], [1, 1]])
        #expect(problem.totalRows == 5)
        #expect(problem.droppedDuplicateRows == 2)
        #expect(problem.targets.rows == 3 && problem.targets.cols == 3)
        #expect(problem.targets.storage == [0, 1, 2, 3, 4, 5, 103, 104, 105])
        // C W′ᵀ − C W0ᵀ of the kept rows: a's rows 0, 1 (target 2k, base k) and b's row 1 (target 2k + 100, base k + 100).
        #expect(problem.differences.values.storage == [0, 1, 2, 3, 2, 3])
    }

    @Test("a concept without one of the first concept's layers is refused with its index")
    func layerMismatch() {
        let layer = LayerKey(layer: "down_blocks.0.attentions.0.transformer_blocks.0.attn2", projection: .key)
        let other = LayerKey(layer: "down_blocks.0.attentions.0.transformer_blocks.0.attn2", projection: .value)
        let a = Self.concept(["p"], offset: 0, layer: layer)
        let b = Self.concept(["q"], offset: 1, layer: other)
        #expect(throws: CompositionProblem.Failure.layerMismatch(concept: 1, layer: layer)) {
            try CompositionProblem(concepts: [a, b], dimension: 3)
        }
        let narrow = Self.concept(["q"], offset: 1, layer: layer, width: 1)
        #expect(throws: CompositionProblem.Failure.layerMismatch(concept: 1, layer: layer)) {
            try CompositionProblem(concepts: [a, narrow], dimension: 3)
        }
        #expect(throws: CompositionSolver.Failure.noTargets) { try CompositionProblem(concepts: [], dimension: 3) }
    }

    @Test("the \"photo of a\" rule: features start at position 4 when the caption's first 15 characters contain it")
    func firstPosition() {
        #expect(RegularizationFeatures.firstPosition(of: "a photo of a cat") == 4)
        #expect(RegularizationFeatures.firstPosition(of: "photo of a dog on a beach") == 4)
        #expect(RegularizationFeatures.firstPosition(of: "a cat in a photo of a house") == 1)
        #expect(RegularizationFeatures.firstPosition(of: "a dog") == 1)
    }

    @Test("target prompts per kind")
    func prompts() {
        #expect(TargetFeatures.prompts(token: "<new1>", category: "cat", kind: .object) == ["<new1> cat", "a photo of <new1> cat"])
        #expect(TargetFeatures.prompts(token: "<s>", category: "art", kind: .style) == ["<s> art", "painting in the style of <s> art"])
        #expect(TargetFeatures.prompts(token: "<new1>", category: "", kind: .object) == ["<new1>", "a photo of <new1>"])
    }
}
