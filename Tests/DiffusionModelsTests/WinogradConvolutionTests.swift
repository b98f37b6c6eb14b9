import CKernels
@testable import DiffusionModels
import Foundation
import Tensors
import TestSupport
import Testing

/// `Conv2D` (3×3, stride 1) through its Winograd paths against the direct convolution in Float64: F(4×4, 3×3) and
/// F(2×2, 3×3) (`CONCEPTS_WINOGRAD=4` / `2`), with nearest ×2 upsampling, per-sample channel biases and a residual,
/// the batch's tiles merged or not (`CONCEPTS_WINOGRAD_MERGE=0`), and the output channels in one block per core or
/// in several (`CONCEPTS_WINOGRAD_BLOCK_FLOATS` lowered), from Float32 and from fp16 weights, on every kernel path.
/// Tolerance: ≤ 2e-5 of the largest |output|.
@Suite(.serialized)
struct WinogradConvolutionTests {
    struct Case: Sendable, CustomStringConvertible {
        let cin: Int, cout: Int, height: Int, width: Int, upsample: Bool, half: Bool
        var description: String { "\(cin)→\(cout) \(height)×\(width)\(upsample ? " upsampled" : "")\(half ? " fp16" : "")" }
    }

    static let cases = [
        Case(cin: 19, cout: 37, height: 16, width: 24, upsample: false, half: false),
        Case(cin: 12, cout: 21, height: 8, width: 10, upsample: true, half: true),
        Case(cin: 40, cout: 70, height: 12, width: 12, upsample: false, half: true),
    ]

    static func conv(_ c: Case) throws -> (Conv2D, weights: [Float], bias: [Float]) {
        var w = deterministicValues(c.cout * c.cin * 9, seed: 11)
        let bias = deterministicValues(c.cout, seed: 12)
        let tensor = try RawTensor.from(floats: w, shape: [c.cout, c.cin, 3, 3], as: c.half ? .float16 : .float32)
        w = try tensor.floats()  // what the layer holds (fp16-rounded for fp16)
        let source = TensorDictionaryWeights(["c.weight": tensor, "c.bias": try RawTensor.from(floats: bias, shape: [c.cout])])
        return (try Conv2D(WeightReader(source), "c", in: c.cin, out: c.cout, kernel: 3), w, bias)
    }

    /// Sets the variables (nil: unset) around `body`, restoring them after.
    static func with(_ variables: [String: String?], _ body: () throws -> Void) rethrows {
        let saved = variables.keys.map { ($0, getenv($0).map { String(cString: $0) }) }
        for (name, value) in variables { if let value { setenv(name, value, 1) } else { unsetenv(name) } }
        defer { for (name, value) in saved { if let value { setenv(name, value, 1) } else { unsetenv(name) } } }
        try body()
    }

    @Test(arguments: cases, ["4", "2"])
    func matchesDirectConvolution(c: Case, tile: String) throws {
        let batch = 2, h = c.upsample ? 2 * c.height : c.height, w = c.upsample ? 2 * c.width : c.width
        let (conv, weights, bias) = try Self.conv(c)
        let x = deterministicValues(batch * c.cin * c.height * c.width, seed: 13)
        let channelBias = deterministicValues(batch * c.cout, seed: 14)
        let residual = deterministicValues(batch * c.cout * h * w, seed: 15)
        var expected: [Double] = []
        for b in 0..<batch {
            var image = Array(x[(b * c.cin * c.height * c.width)..<((b + 1) * c.cin * c.height * c.width)])
            if c.upsample {  // nearest ×2
                image = (0..<(c.cin * h * w)).map { i in
                    let ch = i / (h * w), r = (i / w) % h, col = i % w
                    return image[(ch * c.height + r / 2) * c.width + col / 2]
                }
            }
            let biases = (0..<c.cout).map { bias[$0] + channelBias[b * c.cout + $0] }
            expected += WinogradKernelTests.direct(x: image, w: weights, bias: biases,
                                                   residual: Array(residual[(b * c.cout * h * w)..<((b + 1) * c.cout * h * w)]),
                                                   cin: c.cin, cout: c.cout, h: h, wd: w)
        }
        let largest = expected.map(abs).max() ?? 1
        let input = FeatureMap(buffer: FloatBuffer(copying: x), batch: batch, channels: c.cin, height: c.height, width: c.width)
        let skip = FeatureMap(buffer: FloatBuffer(copying: residual), batch: batch, channels: c.cout, height: h, width: w)
        // One block per core; blocks of 16 output channels (the merged and the per-sample products).
        let positions = tile == "4" ? 36 : 16, tiles = (h / Int(tile)!) * (w / Int(tile)!)
        let small = String(positions * (c.cin + batch * tiles) * 16)
        for (merge, block) in [(nil, nil), ("0", nil), (nil, small), ("0", small)] as [(String?, String?)] {
            try onEveryKernelPath { path in
                try Self.with(["CONCEPTS_WINOGRAD": tile, "CONCEPTS_WINOGRAD_MERGE": merge, "CONCEPTS_WINOGRAD_BLOCK_FLOATS": block]) {
                    try #require(conv.winogradTile(height: h, width: w)?.size == Int(tile))
                    let scratch = WeightScratch()
                    let out = channelBias.withUnsafeBufferPointer {
                        conv.apply(input, upsample: c.upsample, channelBias: $0.baseAddress, residual: skip, scratch: scratch)
                    }
                    let worst = zip(out.buffer.array, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
                    #expect(worst / largest <= 2e-5, "\(c), F\(tile), merge \(merge ?? "on"), block \(block ?? "default"), path \(path): \(worst / largest)")
                }
            }
        }
    }

    /// F(4×4) where the image is a multiple of 4 with ≥ 16 tiles per sample on AVX-512 (SD's 64², 32² and 16²
    /// latents), ≥ 64 on the other paths (64², 32²), F(2×2) on smaller even images (8², 4²), direct below 4 tiles or
    /// on odd sizes; `CONCEPTS_WINOGRAD=2` keeps F(2×2).
    @Test func tileChoice() throws {
        let conv = try Self.conv(Self.cases[0]).0
        kernelPathLock.lock()
        defer { kernelPathLock.unlock() }
        try Self.with(["CONCEPTS_WINOGRAD": nil, "CONCEPTS_KERNELS": "avx2"]) {
            #expect(conv.winogradTile(height: 32, width: 32) == .f4)
            #expect(conv.winogradTile(height: 16, width: 16) == .f2)
        }
        let best = String(cString: ck_instruction_set_name(ck_supported_instruction_set()))
        try Self.with(["CONCEPTS_WINOGRAD": nil, "CONCEPTS_KERNELS": best]) {
            #expect(conv.winogradTile(height: 64, width: 64) == .f4)
            #expect(conv.winogradTile(height: 32, width: 32) == .f4)
            #expect(conv.winogradTile(height: 16, width: 16) == (ck_supported_instruction_set() == CK_AVX512 ? .f4 : .f2))
            #expect(conv.winogradTile(height: 12, width: 16) == .f2)
            #expect(conv.winogradTile(height: 8, width: 8) == .f2)
            #expect(conv.winogradTile(height: 30, width: 30) == .f2)
            #expect(conv.winogradTile(height: 6, width: 6) == .f2)
            #expect(conv.winogradTile(height: 4, width: 4) == .f2)
            #expect(conv.winogradTile(height: 2, width: 4) == nil)
            #expect(conv.winogradTile(height: 9, width: 16) == nil)
        }
        try Self.with(["CONCEPTS_WINOGRAD": "2"]) { #expect(conv.winogradTile(height: 64, width: 64) == .f2) }
        try Self.with(["CONCEPTS_WINOGRAD": "4"]) { #expect(conv.winogradTile(height: 8, width: 8) == .f4) }
    }
}
