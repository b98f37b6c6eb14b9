import Foundation
import Testing
@testable import TextEncoder

@Suite("CLIPVectorMath")
struct VectorMathTests {
    @Test("Vectorised exp matches Foundation's exp to 1e-6 relative over [−87, 88]")
    func exponential() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            var lanes = VectorMath.Vector()
            for i in 0..<VectorMath.width { lanes[i] = x + Float(i) * 0.0137 }
            let got = VectorMath.exp(lanes)
            for i in 0..<VectorMath.width {
                let exact = Foundation.exp(Double(lanes[i]))
                worst = max(worst, abs(Double(got[i]) - exact) / exact)
            }
            x += 0.219
        }
        #expect(worst < 1e-6)
        #expect(VectorMath.exp(VectorMath.Vector(repeating: -1000)).min() > 0, "clamped, never zero or NaN")
    }

    @Test("quick GELU in place equals x·σ(1.702x), including the scalar tail")
    func quickGELU() {
        var values = (0..<37).map { Float($0) * 0.5 - 9 }
        let expected = values.map { Double($0) / (1 + Foundation.exp(-1.702 * Double($0))) }
        values.withUnsafeMutableBufferPointer { VectorMath.quickGELU($0) }
        for (v, e) in zip(values, expected) { #expect(abs(Double(v) - e) < 1e-5) }
    }
}
