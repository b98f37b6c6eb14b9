import Foundation

/// One concept version's inputs to the merge of Kumari et al., CVPR 2023, §3.2, Eq. 4 (docs/METHOD.md §4),
/// computed once when it is registered: its target features `Cn` with
/// their prefix keys (`TargetFeatures`) and, per cross-attention K/V layer, `Cn W′nᵀ` and `Cn W0ᵀ`
/// (`TargetFeatures.layerValues`). `CompositionProblem` stacks those of several concepts.
public struct ConceptTargets: Sendable {
    /// One layer's `Cn W′nᵀ` (`target`) and `Cn W0ᵀ` (`base`), sn × h each, rows aligned with `features`.
    public struct LayerValues: Sendable {
        public var target: Matrix<Float>
        public var base: Matrix<Float>

        public init(target: Matrix<Float>, base: Matrix<Float>) {
            self.target = target
            self.base = base
        }
    }

    /// `Cn` (sn × d).
    public var features: Matrix<Float>
    /// The causal-prefix digest of each row of `features` (`TargetFeatures.prefixKeys`).
    public var prefixKeys: [String]
    /// Token position (within the version) each row belongs to.
    public var rowTokens: [Int]
    public var layers: [LayerKey: LayerValues]

    public init(features: Matrix<Float>, prefixKeys: [String], rowTokens: [Int], layers: [LayerKey: LayerValues]) {
        self.features = features
        self.prefixKeys = prefixKeys
        self.rowTokens = rowTokens
        self.layers = layers
    }
}
