@testable import DiffusionModels
import Foundation
import Tensors
import TestSupport
import Testing

/// Every way `Conv2D` runs a 3×3 convolution (Winograd F(2×2) or F(4×4) on even images with enough tiles, the
/// tap-major products otherwise, stride 2 by im2col) against the convolution summed in Float64, with nearest ×2
/// upsampling, a per-sample channel bias and a residual, batch 2, fp32 and fp16 weights, on every kernel path.
/// Tolerance: ≤ 2e-5 relative to the largest |output| (Float32 sums over 9·C_in ≤ 1,440 terms).
@Suite(.serialized)
struct Conv2DPathTests {
    /// y[b][o][p] for x (batch × cin × h × w), upsampled first when asked, zero padding 1.
    static func reference(x: [Float], batch: Int, cin: Int, h: Int, w: Int, upsample: Bool, stride: Int, weight: [Float],
                          bias: [Float], cout: Int, channelBias: [Float]?, residual: [Float]?) -> [Double] {
        let ih = upsample ? 2 * h : h, iw = upsample ? 2 * w : w
        let oh = (ih - 1) / stride + 1, ow = (iw - 1) / stride + 1
        var y = [Double](repeating: 0, count: batch * cout * oh * ow)
        func input(_ b: Int, _ c: Int, _ yy: Int, _ xx: Int) -> Double {
            guard yy >= 0, yy < ih, xx >= 0, xx < iw else { return 0 }
            let sy = upsample ? yy / 2 : yy, sx = upsample ? xx / 2 : xx
            return Double(x[((b * cin + c) * h + sy) * w + sx])
        }
        for b in 0..<batch {
            for o in 0..<cout {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum = Double(bias[o]) + Double(channelBias?[b * cout + o] ?? 0)
                        for c in 0..<cin {
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    sum += Double(weight[((o * cin + c) * 3 + ky) * 3 + kx])
                                        * input(b, c, oy * stride + ky - 1, ox * stride + kx - 1)
                                }
                            }
                        }
                        let index = ((b * cout + o) * oh + oy) * ow + ox
                        y[index] = sum + Double(residual?[index] ?? 0)
                    }
                }
            }
        }
        return y
    }

    /// (h, w, upsample, stride): Winograd F(2×2) (4×4, 8×8, 2×4 upsampled to 4×8, 12×12, 10×16), F(4×4) (16×16, and
    /// 8×8 upsampled to 16×16), tap-major (odd sizes 7×9, 9×9), stride 2.
    static let shapes: [(Int, Int, Bool, Int)] = [(4, 4, false, 1), (8, 8, false, 1), (2, 4, true, 1), (12, 12, false, 1),
                                                  (10, 16, false, 1), (16, 16, false, 1), (8, 8, true, 1), (7, 9, false, 1),
                                                  (9, 9, false, 1), (8, 8, false, 2)]

    @Test(arguments: [DType.float32, .float16])
    func everyPathEqualsTheDirectSum(weightType: DType) throws {
        let cin = 160, cout = 24, batch = 2
        var weight = deterministicValues(cout * cin * 9, seed: 11).map { $0 * 0.1 }
        if weightType == .float16 { weight = try RawTensor.from(floats: weight, shape: [weight.count], as: .float16).floats() }
        let bias = deterministicValues(cout, seed: 12)
        let tensors: [String: RawTensor] = [
            "conv.weight": try RawTensor.from(floats: weight, shape: [cout, cin, 3, 3], as: weightType),
            "conv.bias": try RawTensor.from(floats: bias, shape: [cout], as: .float32),
        ]
        let reader = WeightReader(TensorDictionaryWeights(tensors))
        let scratch = WeightScratch()
        for (h, w, upsample, stride) in Self.shapes {
            let conv = try Conv2D(reader, "conv", in: cin, out: cout, kernel: 3, stride: stride)
            let x = deterministicValues(batch * cin * h * w, seed: UInt64(h * 100 + w))
            let oh = ((upsample ? 2 * h : h) - 1) / stride + 1, ow = ((upsample ? 2 * w : w) - 1) / stride + 1
            let channelBias = deterministicValues(batch * cout, seed: 13)
            let residual = stride == 1 ? deterministicValues(batch * cout * oh * ow, seed: 14) : nil
            let expected = Self.reference(x: x, batch: batch, cin: cin, h: h, w: w, upsample: upsample, stride: stride,
                                          weight: weight, bias: bias, cout: cout, channelBias: channelBias, residual: residual)
            let largest = expected.map(abs).max() ?? 0
            try onEveryKernelPath { path in
                let input = FeatureMap(buffer: FloatBuffer(copying: x), batch: batch, channels: cin, height: h, width: w)
                let residualMap = residual.map { FeatureMap(buffer: FloatBuffer(copying: $0), batch: batch, channels: cout, height: oh, width: ow) }
                let out = channelBias.withUnsafeBufferPointer { cb in
                    conv.apply(input, upsample: upsample, channelBias: cb.baseAddress, residual: residualMap, scratch: scratch)
                }
                #expect(out.height == oh && out.width == ow)
                let got = out.buffer.array
                let worst = zip(got, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
                #expect(worst <= 2e-5 * largest, "\(h)×\(w) upsample \(upsample) stride \(stride) \(weightType) on \(path): \(worst) of \(largest)")
            }
        }
    }
}
