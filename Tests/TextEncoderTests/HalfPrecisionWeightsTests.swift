import Foundation
import Testing
import TensorFormats
@testable import TextEncoder
import Tensors

/// fp16 weights (`model.fp16.safetensors`) stay fp16 in memory and are widened exactly in the kernel, so a model
/// loaded from fp16 tensors must give outputs bit-identical to the same model loaded from the Float32 values of
/// those tensors, with half the linear-weight memory where the packed kernel runs.
@Suite("fp16 linear weights")
struct HalfPrecisionWeightsTests {
    /// The tiny quick_gelu fixture with every tensor rounded to fp16: once stored as fp16, once as the Float32
    /// values of those halves.
    static func models() throws -> (half: CLIPTextModel, single: CLIPTextModel) {
        let dir = Fixtures.url("tiny-quickgelu")
        let config = try CLIPTextConfiguration.read(dir.appendingPathComponent("config.json"))
        let archive = try Safetensors.read(path: dir.appendingPathComponent("model.safetensors").path)
        var half: [String: RawTensor] = [:], single: [String: RawTensor] = [:]
        for (name, tensor) in archive.tensors where tensor.dtype.isFloatingPoint {
            let rounded = try RawTensor.from(floats: try tensor.floats(), shape: tensor.shape, as: .float16)
            half[name] = rounded
            single[name] = try RawTensor.from(floats: try rounded.floats(), shape: tensor.shape)
        }
        return (try CLIPTextModel(configuration: config, weights: half), try CLIPTextModel(configuration: config, weights: single))
    }

    @Test("a model from fp16 tensors equals the model from their Float32 values, bit for bit, on every path",
          arguments: KernelPath.available)
    func bitIdentical(path: KernelPath) throws {
        let (half, single) = try KernelPath.$override.withValue(path) { try Self.models() }
        // The fixture's vocabulary has 512 ids (BOS 510, EOS 511).
        let batch: [[Int32]] = [[510, 32, 125, 39, 320, 236, 511], [510, 511], [510] + (1...40).map { Int32($0 * 11) } + [511]]
        let (a, b) = try KernelPath.$override.withValue(path) { (try half.encode(batch), try single.encode(batch)) }
        for (x, y) in zip(a, b) {
            #expect(x.hidden.storage == y.hidden.storage)
            #expect(x.pooled == y.pooled)
        }
    }

    @Test("fp16 linear weights take half the memory where the packed kernel runs")
    func halfTheMemory() throws {
        let weight = (0..<(40 * 24)).map { Float($0 % 13) / 8 - 0.75 }
        let tensor = try RawTensor.from(floats: weight, shape: [40, 24], as: .float16)
        let half = try PackedLinearWeight(tensor: tensor, outputs: 40, inputs: 24)
        let single = PackedLinearWeight(weight, outputs: 40, inputs: 24)
        #expect(half.isPacked == single.isPacked)
        #expect(half.byteCount * (half.isPacked ? 2 : 1) == single.byteCount)
        // Same products: the values are exact in fp16.
        let x = (0..<(3 * 24)).map { Float($0 % 7) - 3 }, bias = [Float](repeating: 0.5, count: 40)
        var y1 = [Float](repeating: 0, count: 3 * 40), y2 = y1
        x.withUnsafeBufferPointer { px in bias.withUnsafeBufferPointer { pb in
            y1.withUnsafeMutableBufferPointer { half.apply(px.baseAddress!, rows: 3, bias: pb.baseAddress!, into: $0.baseAddress!, accumulate: false) }
            y2.withUnsafeMutableBufferPointer { single.apply(px.baseAddress!, rows: 3, bias: pb.baseAddress!, into: $0.baseAddress!, accumulate: false) }
        } }
        #expect(y1 == y2)
        #expect(throws: (any Error).self) { try PackedLinearWeight(tensor: tensor, outputs: 24, inputs: 40) }
    }
}
