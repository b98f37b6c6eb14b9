/// PyTorch's CPU random generator (`torch.Generator("cpu").manual_seed(seed)`) and its `randn`, bit for bit.
///
/// Sources (torch 2.15, read from its headers and `libtorch_cpu.so`):
/// - `ATen/core/MT19937RNGEngine.h`: a plain 32-bit Mersenne Twister (MT19937) seeded with `seed & 0xffffffff`
///   through Knuth's initialiser `s[j] = 1812433253 · (s[j−1] ⊕ (s[j−1] ≫ 30)) + j`.
/// - `ATen/CPUGeneratorImpl.cpp`: `random()` is one engine output, `random64()` is `(first ≪ 32) | second`;
///   `manual_seed` builds a new engine and clears the cached normal samples.
/// - `ATen/core/TransformationHelper.h` `uniform_real`: `(bits & (2^digits − 1)) · 2^−digits` with 24 digits
///   (one `random()`) for Float and 53 digits (one `random64()`) for Double.
/// - `ATen/native/cpu/DistributionTemplates.h` `normal_kernel`: a contiguous tensor of ≥ 16 elements takes
///   `normal_fill` (all uniforms first, then Box–Muller on blocks of 16, the last partial block redone from 16
///   fresh uniforms over the tensor's last 16 elements); smaller tensors take `normal_distribution<double>`
///   element by element, which caches the second Box–Muller value in the generator (see ``TorchGenerator/normalDouble()``).
///
/// Which Box–Muller kernel runs depends on the CPU: `normal_stub` has no AVX-512 kernel, so every x86-64 CPU
/// with AVX2 runs the AVX2 build, whose float specialisation evaluates log, sin and cos with `avx_mathfun.h`
/// (Cephes polynomials) and whose multiply–add pairs GCC fused into FMA instructions. ``TorchNormalKernel/avx2``
/// reproduces that instruction sequence (`NormalFill16<float,true>::operator()`, disassembled); ``TorchNormalKernel/scalar``
/// is the generic build (`std::log`, `std::cos`, `std::sin` in Float), used by torch on CPUs without AVX2.
public struct TorchGenerator: Sendable {
    /// MT19937 state: 624 words, the index of the next word, and how many remain before the next twist.
    private var state: [UInt32]
    private var next: Int
    private var left: Int
    /// The second value of the last scalar Box–Muller pair (`next_double_normal_sample_`).
    private var cachedNormal: Double?
    /// The seed given to ``init(seed:)`` (`initial_seed()`).
    public let seed: UInt64

    private static let n = 624
    private static let m = 397

    /// `torch.Generator("cpu").manual_seed(seed)`. Negative Python seeds wrap to UInt64 as torch does.
    public init(seed: UInt64) {
        self.seed = seed
        var s = [UInt32](repeating: 0, count: Self.n)
        s[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<Self.n {
            s[j] = 1_812_433_253 &* (s[j - 1] ^ (s[j - 1] >> 30)) &+ UInt32(j)
        }
        state = s
        next = 0
        left = 1
        cachedNormal = nil
    }

    // MARK: - Engine

    /// One 32-bit output (`CPUGeneratorImpl::random`).
    public mutating func random() -> UInt32 {
        left -= 1
        if left == 0 { twist() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// Two outputs, the first in the high word (`CPUGeneratorImpl::random64`).
    public mutating func random64() -> UInt64 {
        let hi = UInt64(random())
        let lo = UInt64(random())
        return (hi << 32) | lo
    }

    private mutating func twist() {
        let n = Self.n, m = Self.m
        @inline(__always) func twisted(_ u: UInt32, _ v: UInt32) -> UInt32 {
            let mixed = (u & 0x8000_0000) | (v & 0x7FFF_FFFF)
            return (mixed >> 1) ^ ((v & 1) != 0 ? 0x9908_B0DF : 0)
        }
        for i in 0..<(n - m) { state[i] = state[i + m] ^ twisted(state[i], state[i + 1]) }
        for i in (n - m)..<(n - 1) { state[i] = state[i + m - n] ^ twisted(state[i], state[i + 1]) }
        state[n - 1] = state[m - 1] ^ twisted(state[n - 1], state[0])
        left = n
        next = 0
    }

    // MARK: - Uniforms

    /// A Float in [0, 1) from 24 random bits (`uniform_real_distribution<float>(0, 1)`).
    public mutating func uniformFloat() -> Float {
        Float(random() & 0xFF_FFFF) * (1.0 / 16_777_216.0)
    }

    /// A Double in [0, 1) from 53 random bits (`uniform_real_distribution<double>(0, 1)`).
    public mutating func uniformDouble() -> Double {
        Double(random64() & ((1 << 53) - 1)) * (1.0 / 9_007_199_254_740_992.0)
    }

    // MARK: - Normals

    /// One standard normal from `normal_distribution<double>` (the path of tensors with fewer than 16 elements):
    /// u₁, u₂ uniform doubles, r = √(−2 log1p(−u₂)), θ = 2π u₁; returns r cos θ and caches r sin θ for the next call.
    public mutating func normalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = uniformDouble()
        let u2 = uniformDouble()
        let r = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * sin(theta)
        return r * cos(theta)
    }

    /// `torch.randn(count, generator=self, dtype=torch.float32)` for a contiguous tensor of `count` elements
    /// (any shape: only the element count matters), bit for bit with the CPU kernel `kernel`.
    public mutating func randn(count: Int, kernel: TorchNormalKernel = .avx2) -> [Float] {
        guard count > 0 else { return [] }
        if count < 16 {
            return (0..<count).map { _ in Float(normalDouble()) }
        }
        var data = [Float](repeating: 0, count: count)
        for i in 0..<count { data[i] = uniformFloat() }
        data.withUnsafeMutableBufferPointer { buffer in
            var i = 0
            while i + 16 <= count {
                kernel.fill16(buffer, at: i)
                i += 16
            }
        }
        if count % 16 != 0 {
            // torch redraws the last 16 elements (overlapping the previous block) from fresh uniforms.
            let start = count - 16
            for j in 0..<16 { data[start + j] = uniformFloat() }
            data.withUnsafeMutableBufferPointer { kernel.fill16($0, at: start) }
        }
        return data
    }

    /// `torch.randn(shape, generator=self)`: one call for the whole shape, as diffusers' `randn_tensor` does for a
    /// batch drawn with a single generator.
    public mutating func randn(shape: [Int], kernel: TorchNormalKernel = .avx2) -> [Float] {
        randn(count: shape.reduce(1, *), kernel: kernel)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
