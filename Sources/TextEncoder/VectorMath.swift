/// Vectorised elementwise math for the transformer's hot loops (8 Float32 lanes: two SSE registers on the
/// baseline x86-64 target, few enough to stay in registers).
enum VectorMath {
    typealias Vector = SIMD8<Float>
    typealias Integers = SIMD8<Int32>
    static let width = Vector.scalarCount

    /// `eˣ` by Cephes' `expf`: `x = n ln2 + r` with `n = round(x log₂e)` (ln 2 split in two constants for an
    /// exact reduction), a degree-6 polynomial for `eʳ` on `|r| ≤ ln2/2`, and `2ⁿ` assembled in the exponent bits.
    /// Relative error ≈ 2·10⁻⁷ (Float32 round-off level); inputs are clamped to [−87.3, 88.3], so the result is
    /// always a finite normal number.
    ///
    /// `n` is rounded with the `1.5·2²³` shifter (adding it leaves `n` in the low mantissa bits under
    /// round-to-nearest-even), which keeps the whole function in SIMD registers.
    @inline(__always)
    static func exp(_ v: Vector) -> Vector {
        let shifter = Vector(repeating: 12_582_912)  // 1.5 · 2²³
        let x0 = pointwiseMin(pointwiseMax(v, Vector(repeating: -87.3)), Vector(repeating: 88.3))
        let shifted = x0 * 1.442_695_04 + shifter
        let n = shifted - shifter
        var x = x0 - n * 0.693_359_375
        x = x + n * 2.121_944_4e-4
        let z = x * x
        var y = Vector(repeating: 1.987_569_15e-4)
        y = y * x + 1.398_199_95e-3
        y = y * x + 8.333_451_9e-3
        y = y * x + 4.166_579_59e-2
        y = y * x + 1.666_666_55e-1
        y = y * x + 5.000_000_12e-1
        y = y * z + x + 1
        let integer = unsafeBitCast(shifted, to: Integers.self) &- unsafeBitCast(shifter, to: Integers.self)
        let bits = (integer &+ 127) &<< 23
        return y * unsafeBitCast(bits, to: Vector.self)
    }

    /// `x · σ(1.702 x)` in place (quick GELU).
    static func quickGELU(_ p: UnsafeMutableBufferPointer<Float>) {
        guard let base = p.baseAddress else { return }
        let count = p.count
        var i = 0
        let raw = UnsafeMutableRawPointer(base)
        while i + width <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: Vector.self)
            let r = v / (1 + exp(-1.702 * v))
            raw.storeBytes(of: r, toByteOffset: i * 4, as: Vector.self)
            i += width
        }
        while i < count {
            var lane = Vector(repeating: 0)
            lane[0] = base[i]
            base[i] = (lane / (1 + exp(-1.702 * lane)))[0]
            i += 1
        }
    }

    /// Mean and biased variance of `count` values, accumulated in 8 Float lanes.
    static func meanVariance(_ p: UnsafePointer<Float>, count: Int) -> (mean: Float, variance: Float) {
        let raw = UnsafeRawPointer(p)
        var acc = Vector(repeating: 0)
        var i = 0
        while i + width <= count { acc += raw.loadUnaligned(fromByteOffset: i * 4, as: Vector.self); i += width }
        var sum = acc.sum()
        while i < count { sum += p[i]; i += 1 }
        let mean = sum / Float(count)
        var sq = Vector(repeating: 0)
        i = 0
        while i + width <= count {
            let t = raw.loadUnaligned(fromByteOffset: i * 4, as: Vector.self) - mean
            sq += t * t
            i += width
        }
        var squares = sq.sum()
        while i < count { let t = p[i] - mean; squares += t * t; i += 1 }
        return (mean, squares / Float(count))
    }
}
