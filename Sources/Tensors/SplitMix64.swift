import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, seeded, platform-independent random stream, with
/// uniform and Box–Muller normal variates. Used wherever a reproducible random matrix is needed
/// (randomized SVD test matrices, test and benchmark data).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    private var spare: Double?

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    public mutating func nextUniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

    /// Standard normal (Box–Muller; the second value of each pair is kept for the next call).
    public mutating func nextGaussian() -> Double {
        if let s = spare {
            spare = nil
            return s
        }
        let r = (-2 * Foundation.log(nextUniform())).squareRoot(), t = 2 * Double.pi * nextUniform()
        spare = r * Foundation.sin(t)
        return r * Foundation.cos(t)
    }
}
