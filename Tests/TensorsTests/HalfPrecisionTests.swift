import Foundation
import Testing
@testable import Tensors

/// fp16 / bf16 ⇄ fp32 (`HalfPrecision`): exhaustive over all 65536 patterns of each format, every
/// rounding tie between neighbouring values, a seeded million-value comparison with Swift's own
/// `Float16`, and torch's narrowings from `fixtures/tensors/narrowing.bin`. All checks are bit-exact;
/// NaN is compared by class (NaN stays NaN), never by payload.
@Suite("HalfPrecision")
struct HalfPrecisionTests {
    // MARK: Helpers

    static func isFloat16NaN(_ h: UInt16) -> Bool { h & 0x7C00 == 0x7C00 && h & 0x03FF != 0 }
    static func isBFloat16NaN(_ b: UInt16) -> Bool { b & 0x7F80 == 0x7F80 && b & 0x007F != 0 }

    /// bf16 decoded from its fields in Float64 arithmetic (independent of the bit-shift widening).
    static func bfloat16Reference(_ b: UInt16) -> Double {
        let sign: Double = b & 0x8000 == 0 ? 1 : -1
        let exponent = Int((b >> 7) & 0xFF)
        let mantissa = Double(b & 0x7F)
        if exponent == 0xFF { return mantissa == 0 ? sign * .infinity : .nan }
        if exponent == 0 { return sign * mantissa * 0x1p-133 }  // subnormal: m · 2^(−126−7)
        return sign * (1 + mantissa / 128) * Double(sign: .plus, exponent: exponent - 127, significand: 1)
    }

    // MARK: Widening, exhaustive

    @Test("fp16 → fp32 matches Swift's Float16 for all 65536 patterns")
    func float16WideningExhaustive() {
        var mismatches: [UInt16] = []
        for h in UInt16.min...UInt16.max {
            let ours = HalfPrecision.float(fromFloat16Bits: h)
            let reference = Float(Float16(bitPattern: h))
            let ok = reference.isNaN ? ours.isNaN : ours.bitPattern == reference.bitPattern
            if !ok { mismatches.append(h) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(8).map { String($0, radix: 16) })")
    }

    /// `RawTensor.floats()` widens fp16 8 values at a time (falling back per group on Inf/NaN): every
    /// pattern, at every offset within a group, gives the scalar conversion's bits.
    @Test("RawTensor.floats() of fp16 equals the scalar widening for all 65536 patterns, in any group position")
    func tensorWidening() throws {
        for shift in [0, 3] {  // 3: the patterns straddle the 8-value groups differently, and a tail is left
            let patterns = (0..<(65_536 + shift)).map { UInt16(truncatingIfNeeded: $0 &- shift) }
            let bytes = ByteBuffer(unsafeUninitializedCount: 2 * patterns.count) { out in
                for (k, p) in patterns.enumerated() { out.storeBytes(of: p.littleEndian, toByteOffset: 2 * k, as: UInt16.self) }
            }
            let values = try RawTensor(dtype: .float16, shape: [patterns.count], bytes: bytes).floats()
            var mismatches = 0
            for (k, p) in patterns.enumerated() where values[k].bitPattern != HalfPrecision.float(fromFloat16Bits: p).bitPattern { mismatches += 1 }
            #expect(mismatches == 0)
        }
    }

    @Test("bf16 → fp32 equals the value decoded from sign, exponent and mantissa, for all 65536 patterns")
    func bfloat16WideningExhaustive() {
        var mismatches: [UInt16] = []
        for b in UInt16.min...UInt16.max {
            let ours = HalfPrecision.float(fromBFloat16Bits: b)
            let reference = Self.bfloat16Reference(b)
            let ok = reference.isNaN ? ours.isNaN : (Double(ours) == reference && ours.sign == reference.sign)
            if !ok { mismatches.append(b) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(8).map { String($0, radix: 16) })")
    }

    @Test("widening is strictly increasing over positive finite patterns of both formats")
    func wideningIsMonotonic() {
        var previous16 = -Float.infinity, previousB = -Float.infinity
        var ok16 = true, okB = true
        for bits in UInt16(0)...UInt16(0x7C00) {
            let v = HalfPrecision.float(fromFloat16Bits: bits)
            ok16 = ok16 && v > previous16
            previous16 = v
        }
        for bits in UInt16(0)...UInt16(0x7F80) {
            let v = HalfPrecision.float(fromBFloat16Bits: bits)
            okB = okB && v > previousB
            previousB = v
        }
        #expect(ok16 && okB)
        #expect(previous16 == .infinity && previousB == .infinity)
    }

    // MARK: Round trips, exhaustive

    @Test("fp16 widen → narrow is the identity for every non-NaN pattern; NaN stays NaN with its sign")
    func float16RoundTripExhaustive() {
        var mismatches: [UInt16] = []
        for h in UInt16.min...UInt16.max {
            let back = HalfPrecision.float16Bits(from: HalfPrecision.float(fromFloat16Bits: h))
            let ok = Self.isFloat16NaN(h) ? (Self.isFloat16NaN(back) && back & 0x8000 == h & 0x8000) : back == h
            if !ok { mismatches.append(h) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(8).map { String($0, radix: 16) })")
    }

    @Test("bf16 widen → narrow is the identity for every non-NaN pattern; NaN stays NaN with its sign")
    func bfloat16RoundTripExhaustive() {
        var mismatches: [UInt16] = []
        for b in UInt16.min...UInt16.max {
            let back = HalfPrecision.bfloat16Bits(from: HalfPrecision.float(fromBFloat16Bits: b))
            let ok = Self.isBFloat16NaN(b) ? (Self.isBFloat16NaN(back) && back & 0x8000 == b & 0x8000) : back == b
            if !ok { mismatches.append(b) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(8).map { String($0, radix: 16) })")
    }

    // MARK: Ties, exhaustive

    /// For every pair of neighbouring finite fp16 values (lo, hi): the exact midpoint (representable in
    /// fp32) rounds to the one with an even mantissa, and one fp32 ulp either side rounds to the nearer.
    @Test("fp16 narrowing: every tie between neighbours goes to even, one ulp off goes to the nearer")
    func float16TiesExhaustive() {
        var failures: [String] = []
        for lo in UInt16(0)..<UInt16(0x7BFF) {
            let hi = lo + 1
            let mid = Float((Double(HalfPrecision.float(fromFloat16Bits: lo)) + Double(HalfPrecision.float(fromFloat16Bits: hi))) / 2)
            let even = lo & 1 == 0 ? lo : hi
            for sign in [UInt16(0), 0x8000] {
                let s: Float = sign == 0 ? 1 : -1
                let got = (HalfPrecision.float16Bits(from: s * mid), HalfPrecision.float16Bits(from: s * mid.nextDown),
                           HalfPrecision.float16Bits(from: s * mid.nextUp))
                if got != (even | sign, lo | sign, hi | sign) { failures.append(String(lo, radix: 16)) }
            }
        }
        #expect(failures.isEmpty, "ties after fp16 \(failures.prefix(8).joined(separator: ", "))")
        // The tie above the largest finite value (65504) is 65520: odd mantissa 0x3FF, so it rounds to Inf.
        #expect(HalfPrecision.float16Bits(from: 65520) == 0x7C00)
        #expect(HalfPrecision.float16Bits(from: Float(65520).nextDown) == 0x7BFF)
        #expect(HalfPrecision.float16Bits(from: -65520) == 0xFC00)
    }

    @Test("bf16 narrowing: every tie between neighbours goes to even, one ulp off goes to the nearer")
    func bfloat16TiesExhaustive() {
        var failures: [String] = []
        for lo in UInt16(0)..<UInt16(0x7F7F) {
            let hi = lo + 1
            let mid = Float((Double(HalfPrecision.float(fromBFloat16Bits: lo)) + Double(HalfPrecision.float(fromBFloat16Bits: hi))) / 2)
            let even = lo & 1 == 0 ? lo : hi
            for sign in [UInt16(0), 0x8000] {
                let s: Float = sign == 0 ? 1 : -1
                let got = (HalfPrecision.bfloat16Bits(from: s * mid), HalfPrecision.bfloat16Bits(from: s * mid.nextDown),
                           HalfPrecision.bfloat16Bits(from: s * mid.nextUp))
                if got != (even | sign, lo | sign, hi | sign) { failures.append(String(lo, radix: 16)) }
            }
        }
        #expect(failures.isEmpty, "ties after bf16 \(failures.prefix(8).joined(separator: ", "))")
        // Above the largest finite bf16 (0x7F7F): the tie 0x7F7F8000 rounds (odd) to Inf, as does Float.greatestFiniteMagnitude.
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x7F7F_8000)) == 0x7F80)
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x7F7F_7FFF)) == 0x7F7F)
        #expect(HalfPrecision.bfloat16Bits(from: .greatestFiniteMagnitude) == 0x7F80)
        #expect(HalfPrecision.bfloat16Bits(from: -.greatestFiniteMagnitude) == 0xFF80)
    }

    // MARK: Seeded comparison with Swift's Float16

    @Test("fp32 → fp16 matches Swift's Float16(Float) on a million seeded bit patterns and values")
    func float16NarrowingMatchesSwift() {
        var rng = SplitMix64(seed: 0x5EED_F16)
        var mismatches: [UInt32] = []
        for i in 0..<1_000_000 {
            // Half uniformly random bit patterns, half values concentrated on fp16's range (incl. subnormals).
            let x: Float = i.isMultiple(of: 2)
                ? Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
                : Float(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: Int(rng.next() % 48) - 30,
                        significand: 1 + Float(rng.next() % (1 << 23)) * 0x1p-23)
            let ours = HalfPrecision.float16Bits(from: x)
            let reference = Float16(x)
            let ok = reference.isNaN ? Self.isFloat16NaN(ours) : ours == reference.bitPattern
            if !ok { mismatches.append(x.bitPattern) }
        }
        #expect(mismatches.isEmpty, "first inputs: \(mismatches.prefix(8).map { String($0, radix: 16) })")
    }

    // MARK: Golden narrowings from torch

    @Test("fp32 → fp16 and → bf16 match torch's .to(float16 / bfloat16) on the golden set")
    func narrowingMatchesTorch() throws {
        let cases = try Fixtures.narrowings()
        try #require(cases.count > 3000)
        var fp16Mismatches: [String] = [], bf16Mismatches: [String] = []
        var nanCount = 0
        for c in cases {
            let h = HalfPrecision.float16Bits(from: c.value)
            let b = HalfPrecision.bfloat16Bits(from: c.value)
            if c.value.isNaN {
                nanCount += 1
                #expect(Self.isFloat16NaN(c.float16) && Self.isBFloat16NaN(c.bfloat16), "torch kept NaN \(c.input)")
                if !Self.isFloat16NaN(h) { fp16Mismatches.append(String(c.input, radix: 16)) }
                if !Self.isBFloat16NaN(b) { bf16Mismatches.append(String(c.input, radix: 16)) }
            } else {
                if h != c.float16 { fp16Mismatches.append("\(String(c.input, radix: 16))→\(String(h, radix: 16)) torch \(String(c.float16, radix: 16))") }
                if b != c.bfloat16 { bf16Mismatches.append("\(String(c.input, radix: 16))→\(String(b, radix: 16)) torch \(String(c.bfloat16, radix: 16))") }
            }
        }
        #expect(nanCount >= 13, "the golden set should exercise NaN payloads")
        #expect(fp16Mismatches.isEmpty, "fp16: \(fp16Mismatches.prefix(8))")
        #expect(bf16Mismatches.isEmpty, "bf16: \(bf16Mismatches.prefix(8))")
    }

    // MARK: Named hard cases

    @Test("named hard cases", arguments: [
        // (fp32 bits, fp16 bits, bf16 bits)
        (UInt32(0x0000_0000), UInt16(0x0000), UInt16(0x0000)),  // +0
        (0x8000_0000, 0x8000, 0x8000),                          // −0 keeps its sign
        (0x7F80_0000, 0x7C00, 0x7F80),                          // +Inf
        (0xFF80_0000, 0xFC00, 0xFF80),                          // −Inf
        (0x477F_E000, 0x7BFF, 0x4780),                          // 65504, fp16 max
        (0x4780_0000, 0x7C00, 0x4780),                          // 65536 overflows fp16
        (0x3380_0000, 0x0001, 0x3380),                          // 2^-24, smallest fp16 subnormal
        (0x3300_0000, 0x0000, 0x3300),                          // 2^-25: tie with 0 → 0 (even)
        (0x3300_0001, 0x0001, 0x3300),                          // just above 2^-25 → 2^-24
        (0x33C0_0000, 0x0002, 0x33C0),                          // 3·2^-25: tie between 1 and 2 units → 2
        (0x387F_E000, 0x0400, 0x3880),                          // 2^-14 − 2^-25: tie max subnormal / min normal → normal (even)
        (0x0000_0001, 0x0000, 0x0000),                          // smallest fp32 subnormal
        (0x0001_8000, 0x0000, 0x0002),                          // bf16 subnormal tie 1.5 units → 2
        (0x3F80_1000, 0x3C00, 0x3F80),                          // 1 + 2^-11: fp16 tie → 1
        (0x3F80_3000, 0x3C02, 0x3F80),                          // 1 + 3·2^-11: fp16 tie → even (up)
        (0x3F81_8000, 0x3C0C, 0x3F82),                          // 1 + 3·2^-8: bf16 tie → even (up)
    ])
    func namedCases(input: UInt32, float16: UInt16, bfloat16: UInt16) {
        let x = Float(bitPattern: input)
        #expect(HalfPrecision.float16Bits(from: x) == float16)
        #expect(HalfPrecision.bfloat16Bits(from: x) == bfloat16)
    }

    @Test("NaN inputs stay NaN in both formats, whatever the payload")
    func nanPayloads() {
        for bits: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FBF_FFFF, 0x7F80_1FFF, 0xFFFF_FFFF, 0x7F80_0100] {
            let x = Float(bitPattern: bits)
            #expect(Self.isFloat16NaN(HalfPrecision.float16Bits(from: x)), "fp16 of \(String(bits, radix: 16))")
            #expect(Self.isBFloat16NaN(HalfPrecision.bfloat16Bits(from: x)), "bf16 of \(String(bits, radix: 16))")
            #expect(HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits(from: x)).isNaN)
            #expect(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: x)).isNaN)
        }
    }
}
