import Tensors

/// A weight update in factored form, `W − W0 = up · down` (up: h × s, down: s × d), Float32 as
/// exported: what the closed-form merge produces per layer (`CompositionSolver`, Kumari et al.,
/// CVPR 2023, §3.2 eq. 6: the update lies in the span of the target features) and what a
/// composition stores.
public struct LowRankUpdate: Sendable {
    public var up: Matrix<Float>
    public var down: Matrix<Float>

    public init(up: Matrix<Float>, down: Matrix<Float>) {
        self.up = up
        self.down = down
    }

    /// The rank s (columns of `up`, rows of `down`).
    public var rank: Int { up.cols }
}
