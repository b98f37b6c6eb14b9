import CKernels
import Foundation
import TestSupport
import Testing

/// The F(4×4, 3×3) kernels composed as a convolution — U = G g Gᵀ (`ck_winograd4_weights`, from Float32 and from fp16),
/// V = Bᵀ d B (`ck_winograd4_input` on the zero-bordered image), the 36 products M = U·V summed in Float64 here, and
/// Y = Aᵀ M A + bias (+ residual) (`ck_winograd4_output`) — against the direct 3×3 convolution (padding 1) in Float64,
/// on every kernel path. Shapes with tile rows of 1–33 tiles (whole and partial vectors of 8 and 16 tiles), kernel
/// counts that are and are not multiples of the vector widths, and products laid out as in the batch merge: the tiles
/// at an offset in rows of `ldc` > tiles, beside another sample's. Outside its tiles, V and Y are left alone.
/// Tolerance: ≤ 1e-5 of the largest |output| (Float32 transforms of values in [−1, 1)).
@Suite(.serialized)
struct WinogradKernelTests {
    /// y[o][r][c] = bias[o] + residual + Σ_{i,ky,kx} w[o][i][ky][kx] · x[i][r+ky−1][c+kx−1] (zero outside), in Float64.
    static func direct(x: [Float], w: [Float], bias: [Float], residual: [Float]?, cin: Int, cout: Int, h: Int, wd: Int) -> [Double] {
        var y = [Double](repeating: 0, count: cout * h * wd)
        for o in 0..<cout {
            for r in 0..<h {
                for c in 0..<wd {
                    var sum = Double(bias[o]) + Double(residual?[(o * h + r) * wd + c] ?? 0)
                    for i in 0..<cin {
                        for ky in 0..<3 where r + ky - 1 >= 0 && r + ky - 1 < h {
                            for kx in 0..<3 where c + kx - 1 >= 0 && c + kx - 1 < wd {
                                sum += Double(w[((o * cin + i) * 3 + ky) * 3 + kx]) * Double(x[(i * h + r + ky - 1) * wd + c + kx - 1])
                            }
                        }
                    }
                    y[(o * h + r) * wd + c] = sum
                }
            }
        }
        return y
    }

    @Test(arguments: [(3, 5, 8, 8), (17, 19, 12, 20), (8, 33, 64, 64), (20, 4, 32, 36), (5, 7, 4, 4), (3, 2, 8, 132)],
          [false, true])
    func matchesDirectConvolution(shape: (Int, Int, Int, Int), half: Bool) throws {
        let (cin, cout, h, wd) = shape
        let x = deterministicValues(cin * h * wd, seed: 1), bias = deterministicValues(cout, seed: 3)
        let residual = deterministicValues(cout * h * wd, seed: 4)
        var w = deterministicValues(cout * cin * 9, seed: 2)
        var halfBits = [UInt16](repeating: 0, count: w.count)
        if half {  // the fp16 weights and, for the reference, their exact Float32 values
            for i in w.indices {
                halfBits[i] = Float16(w[i]).bitPattern
                w[i] = Float(Float16(bitPattern: halfBits[i]))
            }
        }
        let tiles = (h / 4) * (wd / 4), offset = 3, ldc = tiles + offset + 2  // another sample's tiles before ours
        let pairs = cout * cin, plane = (h + 2) * (wd + 2)
        let expected = Self.direct(x: x, w: w, bias: bias, residual: residual, cin: cin, cout: cout, h: h, wd: wd)
        let largest = expected.map(abs).max() ?? 1
        let sentinel: Float = 12345
        try onEveryKernelPath { path in
            var padded = [Float](repeating: .nan, count: cin * plane)
            ck_pad_image(x, Int32(cin), Int32(h), Int32(wd), &padded)
            var u = [Float](repeating: .nan, count: 36 * pairs)
            if half { ck_winograd4_weights_f16(halfBits, pairs, &u, pairs) } else { ck_winograd4_weights(w, pairs, &u, pairs) }
            var v = [Float](repeating: sentinel, count: 36 * cin * ldc)
            v.withUnsafeMutableBufferPointer { ck_winograd4_input(padded, Int32(cin), Int32(h), Int32(wd), $0.baseAddress! + offset, ldc, cin * ldc) }
            for k in 0..<36 {
                for i in 0..<cin {
                    for t in 0..<ldc where t < offset || t >= offset + tiles {
                        try #require(v[(k * cin + i) * ldc + t] == sentinel, "path \(path): V written outside the tiles")
                    }
                }
            }
            var m = [Float](repeating: .nan, count: 36 * cout * ldc)
            for k in 0..<36 {
                for o in 0..<cout {
                    for t in offset..<(offset + tiles) {
                        var sum = 0.0
                        for i in 0..<cin { sum += Double(u[(k * cout + o) * cin + i]) * Double(v[(k * cin + i) * ldc + t]) }
                        m[(k * cout + o) * ldc + t] = Float(sum)
                    }
                }
            }
            for withResidual in [false, true] {
                var y = [Float](repeating: sentinel, count: cout * h * wd + 5)
                m.withUnsafeBufferPointer { mp in
                    residual.withUnsafeBufferPointer { rp in
                        ck_winograd4_output(mp.baseAddress! + offset, Int32(cout), Int32(h), Int32(wd), bias,
                                            withResidual ? rp.baseAddress : nil, &y, ldc, cout * ldc)
                    }
                }
                let reference = withResidual ? expected : Self.direct(x: x, w: w, bias: bias, residual: nil, cin: cin, cout: cout, h: h, wd: wd)
                let worst = zip(y, reference).map { abs(Double($0) - $1) }.max() ?? .infinity
                #expect(worst / largest <= 1e-5, "path \(path), shape \(shape), half \(half), residual \(withResidual): \(worst / largest)")
                #expect(y[(cout * h * wd)...].allSatisfy { $0 == sentinel }, "path \(path): written past the output")
            }
        }
    }

    /// F(4×4, 3×3) is exact on polynomials of low degree up to Float32 rounding: a constant image with a kernel of
    /// ones gives 9·value inside, 6 on the edges, 4 in the corners (the zero border), checked at 1e-6.
    @Test func constantImageCountsTheTaps() throws {
        let h = 8, wd = 12, value: Float = 0.75
        let padded: [Float] = {
            var p = [Float](repeating: 0, count: (h + 2) * (wd + 2))
            ck_pad_image([Float](repeating: value, count: h * wd), 1, Int32(h), Int32(wd), &p)
            return p
        }()
        try onEveryKernelPath { path in
            var u = [Float](repeating: 0, count: 36)
            ck_winograd4_weights([Float](repeating: 1, count: 9), 1, &u, 1)
            let tiles = (h / 4) * (wd / 4)
            var v = [Float](repeating: 0, count: 36 * tiles)
            ck_winograd4_input(padded, 1, Int32(h), Int32(wd), &v, tiles, tiles)
            var m = v
            for k in 0..<36 { for t in 0..<tiles { m[k * tiles + t] = u[k] * v[k * tiles + t] } }
            var y = [Float](repeating: 0, count: h * wd)
            ck_winograd4_output(m, 1, Int32(h), Int32(wd), [0], nil, &y, tiles, tiles)
            for r in 0..<h {
                for c in 0..<wd {
                    let rows = (r == 0 || r == h - 1) ? 2 : 3, columns = (c == 0 || c == wd - 1) ? 2 : 3
                    let expected = Float(rows * columns) * value
                    try #require(abs(y[r * wd + c] - expected) <= 1e-6, "path \(path) at (\(r), \(c)): \(y[r * wd + c])")
                }
            }
        }
    }
}
