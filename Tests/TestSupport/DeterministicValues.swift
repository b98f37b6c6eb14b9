/// Deterministic test inputs uniform in [−halfWidth, halfWidth): a 64-bit LCG (Knuth's MMIX constants), the top 24
/// bits of each state scaled. The kernel tests (attention, Winograd, convolution paths, split products) all draw
/// their inputs here, so a given seed gives the same values in every suite.
public func deterministicValues(_ count: Int, seed: UInt64, halfWidth: Double = 1) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Double(state >> 40) / Double(1 << 24) * (2 * halfWidth) - halfWidth)
    }
}
