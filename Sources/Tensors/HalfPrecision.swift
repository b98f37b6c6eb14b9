/// IEEE 754 binary16 (fp16) and bfloat16 ⇄ binary32 conversion on bit patterns.
///
/// Narrowing rounds to nearest, ties to even (the rounding torch, NumPy and safetensors use);
/// NaN stays NaN (payload truncated, quiet bit set), ±Inf stays ±Inf, overflow goes to ±Inf,
/// and fp16 subnormals are produced and read exactly. Widening is exact.
public enum HalfPrecision {
    // MARK: fp16

    /// Converts an fp32 value to the bit pattern of the nearest fp16 (round-to-nearest-even).
    @inlinable
    public static func float16Bits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        let mantissa = x & 0x7F_FFFF
        if exponent == 0xFF {  // Inf or NaN
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let unbiased = exponent - 127
        if unbiased > 15 { return sign | 0x7C00 }  // overflow → Inf
        if unbiased >= -14 {
            // Normal fp16: 10 mantissa bits; round the 13 dropped bits to nearest even.
            var half = UInt32(unbiased + 15) << 10 | (mantissa >> 13)
            let dropped = mantissa & 0x1FFF
            if dropped > 0x1000 || (dropped == 0x1000 && (half & 1) == 1) { half += 1 }  // may carry into Inf: correct
            return sign | UInt16(truncatingIfNeeded: half)
        }
        if unbiased < -25 { return sign }  // below half the smallest subnormal → ±0
        // Subnormal fp16: value = m × 2^-24 with the implicit leading one made explicit.
        let full = mantissa | 0x80_0000
        let shift = UInt32(-unbiased - 14 + 13)  // 14…24
        var half = full >> shift
        let dropped = full & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if dropped > halfway || (dropped == halfway && (half & 1) == 1) { half += 1 }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// Widens an fp16 bit pattern to fp32 exactly.
    @inlinable
    public static func float(fromFloat16Bits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: mantissa × 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    // MARK: bf16

    /// Converts an fp32 value to the nearest bfloat16 bit pattern (round-to-nearest-even).
    @inlinable
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
        let roundingBias = UInt32(0x7FFF) + ((x >> 16) & 1)
        return UInt16(truncatingIfNeeded: (x &+ roundingBias) >> 16)
    }

    /// Widens a bfloat16 bit pattern to fp32 exactly.
    @inlinable
    public static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }
}
