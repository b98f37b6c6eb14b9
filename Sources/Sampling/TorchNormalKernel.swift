#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Box–Muller block of torch's `normal_fill` (`NormalFill16`, `ATen/native/cpu/DistributionTemplates.h`):
/// 16 uniforms u in place become 16 normals, lane j ∈ 0..<8 pairing u₁ = 1 − u[j] with u₂ = u[j + 8]:
/// r = √(−2 ln u₁), θ = 2π u₂, out[j] = r cos θ · σ + μ, out[j + 8] = r sin θ · σ + μ (σ = 1, μ = 0 for randn).
public enum TorchNormalKernel: String, Sendable, CaseIterable {
    /// torch's AVX2 build (every x86-64 CPU with AVX2, including AVX-512 ones: `normal_stub` has no AVX-512
    /// kernel): `log256_ps` and `sincos256_ps` of `avx_mathfun.h` with the FMA contractions GCC made.
    case avx2
    /// torch's generic build (CPUs without AVX2): `std::log`, `std::cos`, `std::sin` on Float.
    case scalar

    func fill16(_ data: UnsafeMutableBufferPointer<Float>, at offset: Int) {
        for j in 0..<8 {
            let u1 = 1 - data[offset + j]
            let u2 = data[offset + j + 8]
            switch self {
            case .avx2:
                let radius = (CephesAVX2.log(u1) * -2).squareRoot()
                let theta = Self.twoPi * u2
                let (s, c) = CephesAVX2.sincos(theta)
                // _mm256_fmadd_ps(n, std, mean) with σ = 1, μ = 0: exact except that −0 becomes +0.
                data[offset + j] = Float(0).addingProduct(radius * c, 1)
                data[offset + j + 8] = Float(0).addingProduct(radius * s, 1)
            case .scalar:
                let radius = (-2 * logf(u1)).squareRoot()
                let theta = Float(2.0 * Double.pi * Double(u2))
                data[offset + j] = Float(0).addingProduct(radius * cosf(theta), 1)  // std::fma(·, σ, μ)
                data[offset + j + 8] = Float(0).addingProduct(radius * sinf(theta), 1)
            }
        }
    }

    /// `_mm256_set1_ps(2.0f * c10::pi<double>)`.
    static let twoPi = Float(bitPattern: 0x40C9_0FDB)
}

/// One lane of `avx_mathfun.h`'s `log256_ps` and `sincos256_ps` as torch 2.15's `libtorch_cpu.so` executes them
/// (the AVX2 `NormalFill16<float, true>::operator()`): each step below is one instruction of that code; `fma(a, b, c)`
/// marks where GCC fused a multiply and an add (one rounding). Constants are the bit patterns in the binary.
enum CephesAVX2 {
    @inline(__always) static func f(_ bits: UInt32) -> Float { Float(bitPattern: bits) }
    @inline(__always) static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

    /// Natural logarithm for x > 0 (Cephes `logf`): x = m · 2^e with m ∈ [½, 1), shifted to [√½, √2), then a
    /// degree-8 polynomial in m − 1.
    static func log(_ input: Float) -> Float {
        let x0 = max(input, f(0x0080_0000))  // min_norm_pos
        let bits = x0.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 0x7F) + 1
        var x = Float(bitPattern: (bits & 0x807F_FFFF) | 0x3F00_0000)  // inv_mant_mask, then | 0.5
        let below = x < f(0x3F35_04F3)  // SQRTHF
        let tmp: Float = below ? x : 0
        x = x + -1
        e = e - (below ? 1 : 0)
        x = tmp + x
        let z = x * x
        var y = f(0x3D90_21BB)  // p0
        for p: UInt32 in [0xBDEB_D1B8, 0x3DEF_251A, 0xBDFE_5D4F, 0x3E11_E9BF, 0xBE2A_AE50, 0x3E4C_CEAC, 0xBE7F_FFFC, 0x3EAA_AAAA] {
            y = fma(y, x, f(p))  // p1 … p8
        }
        let eq1 = e * f(0xB95E_8083)  // q1
        y = fma(x * y, z, eq1)
        y = fma(-z, 0.5, y)
        x = x + y
        let result = fma(e, f(0x3F31_8000), x)  // q2
        return input <= 0 ? Float(bitPattern: result.bitPattern | 0xFFFF_FFFF) : result
    }

    /// Sine and cosine (Cephes `sinf`/`cosf`): reduction by π/4 in three parts (DP1..DP3), then the cosine
    /// polynomial on octants 1, 2 (mod 4) and the sine polynomial on the others.
    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        var x = Float(bitPattern: input.bitPattern & 0x7FFF_FFFF)
        var signSin = input.bitPattern & 0x8000_0000
        let scaled = x * f(0x3FA2_F983)  // 4/π
        var j = Int32(scaled.rounded(.towardZero)) &+ 1  // cvttps2dq (inputs here are < 2^31)
        let swapSin = UInt32(bitPattern: j & 4) << 29
        let polyMask = (j & 2) == 0
        j &= ~1
        let y = Float(j)
        x = fma(y, f(0xBF49_0000), x)  // DP1
        x = fma(f(0xB97D_A000), y, x)  // DP2
        x = fma(y, f(0xB322_2169), x)  // DP3
        let signCos = UInt32(bitPattern: ~(j &- 2) & 4) << 29
        signSin ^= swapSin

        let z = x * x
        let halfZ = z * 0.5
        var yc = fma(f(0x37CC_F5CE), z, f(0xBAB6_061A))  // coscof p0, p1
        yc = fma(yc, z, f(0x3D2A_AAA5))  // p2
        yc = z * yc
        yc = fma(z, yc, -halfZ)
        yc = yc + 1

        var ys = fma(f(0xB94C_A1F9), z, f(0x3C08_839E))  // sincof p0, p1
        ys = fma(ys, z, f(0xBE2A_AAA3))  // p2
        ys = z * ys
        ys = fma(x, ys, x)

        let sin2: Float = polyMask ? ys : 0
        let sin1: Float = polyMask ? 0 : yc
        let cosA = yc - sin1
        let cosB = ys - sin2
        let sinValue = sin2 + sin1
        let cosValue = cosB + cosA
        return (Float(bitPattern: sinValue.bitPattern ^ signSin), Float(bitPattern: cosValue.bitPattern ^ signCos))
    }
}
