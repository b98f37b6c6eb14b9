import Foundation
import Tensors

/// The index's random rotation `P` as a fast structured transform: the "FHT-Kac" rotator of the
/// RaBitQ library (Gao et al., VectorDB-NTU/RaBitQ-Library, `rotator.hpp`, `FhtKacRotator`).
///
/// With `m = 2^⌊log₂ d⌋`, four rounds of: random signs `D_k` (seeded), a normalised Walsh–Hadamard
/// transform of the first `m` coordinates (rounds 0 and 2) or the last `m` (rounds 1 and 3), and a
/// Kac-walk butterfly pairing coordinate `i` with `i + ⌊d/2⌋`, `(a, b) → ((a + b)/√2, (a − b)/√2)`
/// (skipped when `d = m`: the Hadamard transforms then mix every coordinate themselves).
/// Every step is orthogonal, so `P` is (the Hadamard's `1/√m` is folded into the signs). The Hadamard transform runs in constant geometry (each of the
/// log₂ m stages maps pairs `(x₂ₖ, x₂ₖ₊₁)` to `y_k = x₂ₖ + x₂ₖ₊₁`, `y_{k+m/2} = x₂ₖ − x₂ₖ₊₁`): the
/// Hadamard matrix up to a fixed permutation of its rows, still orthogonal, and vectorisable.
/// Cost per vector at d = 768: ≈ 25k additions, against 590k multiply-adds for a dense `P`, which
/// made the 1M-caption index build cost a 1.2 TFLOP matrix product.
///
/// The index file stores `P` densely (`dense()`, one transform per basis vector), so a query is
/// rotated by the same matrix product as before.
struct CaptionRotation: Sendable {
    static let rounds = 4
    let dimension: Int
    /// `m`, the Hadamard length.
    let hadamardLength: Int
    /// `rounds × d` signs, scaled by `1/√m` on the coordinates that round's Hadamard transform
    /// covers (it is applied unnormalised).
    let signs: [Float]

    init(dimension d: Int, seed: UInt64) {
        dimension = d
        var m = 1
        while m * 2 <= d { m *= 2 }
        hadamardLength = m
        var random = SplitMix64(seed: seed)
        let scale = 1 / Float(m).squareRoot()
        signs = (0..<(Self.rounds * d)).map { k in
            let round = k / d, j = k % d
            let covered = round % 2 == 0 ? j < m : j >= d - m
            return (random.next() & 1 == 0 ? 1 : -1) * (covered ? scale : 1)
        }
    }

    /// Scratch space for `apply` (`hadamardLength` Floats).
    func makeScratch() -> UnsafeMutablePointer<Float> {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(hadamardLength, 16))
        scratch.initialize(repeating: 0, count: max(hadamardLength, 16))
        return scratch
    }

    /// `x ← P x` in place (`dimension` values); `scratch` from `makeScratch()`.
    func apply(_ x: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let d = dimension, m = hadamardLength, half = d / 2
        let walk = Float(0.5).squareRoot()
        signs.withUnsafeBufferPointer { allSigns in
            for round in 0..<Self.rounds {
                Self.multiply(x, by: allSigns.baseAddress! + round * d, count: d)
                Self.hadamard(round % 2 == 0 ? x : x + (d - m), count: m, scratch: scratch)
                guard m < d else { continue }  // d = 2^k: signs and Hadamard transforms alone (the library's rule)
                var i = 0
                while i + 8 <= half {
                    let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                    let b = UnsafeRawPointer(x + i + half).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(x + i).storeBytes(of: (a + b) * walk, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(x + i + half).storeBytes(of: (a - b) * walk, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < half {
                    let a = x[i], b = x[i + half]
                    x[i] = (a + b) * walk
                    x[i + half] = (a - b) * walk
                    i += 1
                }
            }
        }
    }

    /// `x_j ← x_j s_j`.
    @inline(__always)
    static func multiply(_ x: UnsafeMutablePointer<Float>, by s: UnsafePointer<Float>, count: Int) {
        var j = 0
        while j + 8 <= count {
            let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(s + j).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(x + j).storeBytes(of: v, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count { x[j] *= s[j]; j += 1 }
    }

    /// The Walsh–Hadamard transform (rows permuted; unnormalised: the signs carry `1/√m`) of `count`
    /// = 2^k values in place, in constant geometry: k stages, each reading one buffer and writing the
    /// other (`x`, `scratch`), then copied back when k is odd.
    static func hadamard(_ x: UnsafeMutablePointer<Float>, count m: Int, scratch: UnsafeMutablePointer<Float>) {
        guard m > 1 else { return }
        var stages = 0
        while 1 << stages < m { stages += 1 }
        var source = x, target = scratch
        let halfCount = m / 2
        for _ in 0..<stages {
            if m >= 16 {
                var k = 0
                while k < halfCount {
                    let v = UnsafeRawPointer(source + 2 * k).loadUnaligned(as: SIMD16<Float>.self)
                    let even = v.evenHalf, odd = v.oddHalf
                    UnsafeMutableRawPointer(target + k).storeBytes(of: even + odd, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(target + k + halfCount).storeBytes(of: even - odd, as: SIMD8<Float>.self)
                    k += 8
                }
            } else {
                for k in 0..<halfCount {
                    let a = source[2 * k], b = source[2 * k + 1]
                    target[k] = a + b
                    target[k + halfCount] = a - b
                }
            }
            swap(&source, &target)
        }
        if source != x { x.update(from: source, count: m) }
    }

    /// `P` as a dense row-major `d × d` matrix: column `j` is `P e_j`.
    func dense() -> [Float] {
        let d = dimension
        var p = [Float](repeating: 0, count: d * d)
        let column = UnsafeMutablePointer<Float>.allocate(capacity: d)
        let scratch = makeScratch()
        defer { column.deallocate(); scratch.deallocate() }
        for j in 0..<d {
            column.update(repeating: 0, count: d)
            column[j] = 1
            apply(column, scratch: scratch)
            for i in 0..<d { p[i * d + j] = column[i] }
        }
        return p
    }
}
